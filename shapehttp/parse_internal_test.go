package shapehttp

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseOffset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want offset
		ok   bool
	}{
		{"0_0", offset{0, 0}, true},
		{"26800584_4", offset{26800584, 4}, true},
		{"18446744073709551615_18446744073709551615", offset{1<<64 - 1, 1<<64 - 1}, true},
		{"18446744073709551616_0", offset{}, false},
		{"-1", offset{}, false},
		{"1_", offset{}, false},
		{"_1", offset{}, false},
		{"+1_0", offset{}, false},
		{"1_0_0", offset{}, false},
		{" 1_0", offset{}, false},
	} {
		got, err := parseOffset(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseOffset(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%q prints as %q", tc.in, got.String())
		}
	}
	if !(offset{1, 5}).less(offset{2, 0}) || (offset{2, 0}).less(offset{1, 5}) || !(offset{2, 0}).less(offset{2, 1}) {
		t.Error("less orders by tx, then op")
	}
}

func TestParseTableAndColumns(t *testing.T) {
	for _, tc := range []struct {
		in, schema, table string
		ok                bool
	}{
		{"orders", "public", "orders", true},
		{"Orders", "public", "orders", true},
		{`"Orders"`, "public", "Orders", true},
		{`demo.orders`, "demo", "orders", true},
		{`"my schema"."a""b"`, "my schema", `a"b`, true},
		{`a.b.c`, "", "", false},
		{`orders;drop`, "", "", false},
		{`""`, "", "", false},
		{`"open`, "", "", false},
		{`1abc`, "", "", false},
		{strings.Repeat("a", 64), "", "", false},
	} {
		s, tb, err := parseTable(tc.in)
		if (err == nil) != tc.ok || s != tc.schema || tb != tc.table {
			t.Errorf("parseTable(%q) = %q, %q, %v; want %q, %q, ok %v", tc.in, s, tb, err, tc.schema, tc.table, tc.ok)
		}
	}
	cols, err := parseIdentList(`"id","Total",status,"a,b"`, ',')
	if err != nil || !slices.Equal(cols, []string{"id", "Total", "status", "a,b"}) {
		t.Errorf("columns: %q, %v", cols, err)
	}
	if _, err := parseIdentList(`id,,x`, ','); err == nil {
		t.Error("an empty column name was accepted")
	}
}

func TestParseRequest(t *testing.T) {
	parse := func(q string) (*request, *Error) {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return parseRequest(v, 64)
	}
	r, e := parse(`table=orders&offset=-1&where=status%3D%241&params%5B1%5D=open&columns=%22id%22,%22status%22&replica=full`)
	if e != nil {
		t.Fatal(e, e.Fields)
	}
	if !r.beforeAll || r.where != "status=$1" || !slices.Equal(r.params, []string{"open"}) || !slices.Equal(r.columns, []string{"id", "status"}) || !r.full {
		t.Errorf("parsed %+v", r)
	}
	r, e = parse(`table=orders&offset=5_2&handle=h&live=true&live_sse=true&cursor=99&params={"1":"a","2":"b"}`)
	if e != nil {
		t.Fatal(e, e.Fields)
	}
	if r.off != (offset{5, 2}) || r.handle != "h" || !r.live || !r.sse || r.cursor != "99" || !slices.Equal(r.params, []string{"a", "b"}) {
		t.Errorf("parsed %+v", r)
	}
	for _, tc := range []struct{ q, field string }{
		{`offset=-1`, "table"},
		{`table=t`, "offset"},
		{`table=t&offset=x`, "offset"},
		{`table=t&offset=1_0`, "handle"},
		{`table=t&offset=-1&live=true`, "live"},
		{`table=t&offset=1_0&handle=h&live_sse=true`, "live_sse"},
		{`table=t&offset=-1&live=yes`, "live"},
		{`table=t&offset=-1&replica=half`, "replica"},
		{`table=t&offset=-1&log=some`, "log"},
		{`table=t&offset=-1&params%5B2%5D=x`, "params"},
		{`table=t&offset=-1&params%5B0%5D=x`, "params"},
		{`table=t&offset=-1&params=[1]`, "params"},
		{`table=t&offset=-1&where=` + strings.Repeat("x", 65), "where"},
		{`table=t&offset=-1&columns=a,,b`, "columns"},
		{`table=t&offset=-1&subset__limit=1`, "subset__limit"},
	} {
		_, e := parse(tc.q)
		if e == nil || e.Status != 400 || len(e.Fields[tc.field]) != 1 {
			t.Errorf("%s: got %+v, want a 400 naming %s", tc.q, e, tc.field)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r\x00\x1f", "é日本\u2028\u2029", "bad\xffutf8", "<&>"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes as invalid JSON %s: %v", s, got, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = strings.ToValidUTF8(s, "\uFFFD")
		}
		if back != want {
			t.Errorf("%q round-trips as %q", s, back)
		}
	}
}

func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"0_0", "26800584_4", "-1", "now", "1_", "18446744073709551616_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOffset(s)
		if err != nil {
			return
		}
		back, err := parseOffset(o.String())
		if err != nil || back != o {
			t.Fatalf("%q -> %v -> %v, %v", s, o, back, err)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`table=orders&offset=-1&where=status%3D%241&params%5B1%5D=open&columns=%22id%22,%22status%22`,
		`table="a""b".c&offset=5_2&handle=h&live=true&live_sse=true&params={"1":"a"}`,
		`table=t&offset=now`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r, e := parseRequest(v, 4096)
		if (r == nil) == (e == nil) {
			t.Fatalf("%q: request %v and error %v", q, r, e)
		}
		if e != nil {
			if e.Status != 400 || len(e.Fields) != 1 {
				t.Fatalf("%q: error %+v", q, e)
			}
			return
		}
		if r.table == "" || r.schema == "" || len(r.where) > 4096 {
			t.Fatalf("%q: %+v", q, r)
		}
		// A parsed table prints and parses back to itself.
		s, tb, err := parseTable(quoteName(r.schema) + "." + quoteName(r.table))
		if err != nil || s != r.schema || tb != r.table {
			t.Fatalf("%q: table %q.%q reparses as %q.%q, %v", q, r.schema, r.table, s, tb, err)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if back != strings.ToValidUTF8(s, "\uFFFD") && utf8.ValidString(s) {
			t.Fatalf("%q round-trips as %q", s, back)
		}
	})
}
