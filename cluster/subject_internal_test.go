package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func TestEscapeToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"public", "public"},
		{"phoenix_kit_users", "phoenix_kit_users"},
		{"my.table", "my~2Etable"},
		{"a b*c>", "a~20b~2Ac~3E"},
		{"~", "~7E"},
		{"", "~"},
		{"é", "~C3~A9"},
		{"_resync", "_resync"},
	} {
		if got := escapeToken(tc.in); got != tc.want {
			t.Errorf("escapeToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := unescapeToken(tc.want); err != nil || back != tc.in {
			t.Errorf("unescapeToken(%q) = %q, %v", tc.want, back, err)
		}
	}
	for _, bad := range []string{"~2e", "~2", "a.b", "~G0", "a b"} {
		if _, err := unescapeToken(bad); err == nil {
			t.Errorf("unescapeToken(%q) accepted a token escapeToken never writes", bad)
		}
	}
	// A Resync subject has one token fewer than any change subject.
	if got := strings.Count(changeSubject("p", "_resync", "x"), "."); got != 2 {
		t.Fatalf("change subject has %d dots", got)
	}
	if resyncSubject("p.q") != "p.q._resync" {
		t.Fatal(resyncSubject("p.q"))
	}
}

func TestEventRoundTrip(t *testing.T) {
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, ev := range []pubsub.Event{
		{Kind: pubsub.TableChanged, Schema: "s.x", Table: "t y", Operation: "UPDATE", RowID: "7", LSN: 99, CommitTime: ct,
			New: map[string]any{"name": "n"}, Old: map[string]any{"name": "o"}},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "DELETE", RowID: "1"},
		{Kind: pubsub.Resync, Reason: pubsub.ReasonListen},
	} {
		subject, body, err := encodeEvent("pre", ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != ev.String() || got.LSN != ev.LSN || !got.CommitTime.Equal(ev.CommitTime) ||
			got.Reason != ev.Reason || len(got.New) != len(ev.New) || len(got.Old) != len(ev.Old) {
			t.Fatalf("round trip of %+v gave %+v", ev, got)
		}
		wantSubject := resyncSubject("pre")
		if ev.Kind == pubsub.TableChanged {
			wantSubject = changeSubject("pre", ev.Schema, ev.Table)
		}
		if subject != wantSubject {
			t.Fatalf("subject %q, want %q", subject, wantSubject)
		}
	}
	if _, err := decodeEvent([]byte(`{"op":"INSERT"}`)); err == nil {
		t.Fatal("a change without a table was accepted")
	}
	// The JSON bodies of earlier releases still decode.
	ev, err := decodeEvent([]byte(`{"schema":"public","table":"items","op":"INSERT","row_id":"1","lsn":5,"new":{"a":1}}`))
	if err != nil || ev.String() != "public.items:INSERT:1" || ev.LSN != 5 || ev.New["a"] != json.Number("1") {
		t.Fatalf("JSON body: %+v, %v", ev, err)
	}
	// Row values come back as JSON gives them.
	_, body, _ := encodeEvent("p", pubsub.Event{Schema: "s", Table: "t", Operation: "INSERT", New: map[string]any{"n": 12}})
	if ev, err := decodeEvent(body); err != nil || ev.New["n"] != json.Number("12") {
		t.Fatalf("binary body: %+v, %v", ev, err)
	}
	for _, bad := range [][]byte{nil, {0x09}, {bodyChangeV1}, {bodyChangeV1, 0x80}, append(append([]byte{}, body...), 0)} {
		if _, err := decodeEvent(bad); err == nil {
			t.Fatalf("%q was accepted", bad)
		}
	}
}

// FuzzToken: unescapeToken never panics, and it accepts exactly the
// tokens escapeToken writes, each for one identifier.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"public", "my.table", "", "~", "~2E", "é", "a~", "~zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := escapeToken(s)
		if back, err := unescapeToken(tok); err != nil || back != s {
			t.Fatalf("escape/unescape of %q: %q, %v", s, back, err)
		}
		if strings.ContainsAny(tok, ". \t\r\n*>") || tok == "" {
			t.Fatalf("token %q is not a valid subject token", tok)
		}
		if id, err := unescapeToken(s); err == nil && escapeToken(id) != s {
			t.Fatalf("token %q decodes to %q, which escapes to %q", s, id, escapeToken(id))
		}
	})
}

// FuzzDecodeEvent: decodeEvent never panics and what it accepts is a
// Resync or a change with a schema and a table.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"resync":true,"reason":"listen"}`))
	f.Add([]byte(`{"schema":"public","table":"items","op":"INSERT","row_id":"1","lsn":5,"new":{"a":1}}`))
	f.Add([]byte(`{"schema":"","table":"x"}`))
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, ev := range []pubsub.Event{
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT", RowID: "1", LSN: 5, CommitTime: ct,
			New: map[string]any{"a": 1}, Old: map[string]any{"b": "x"}},
		{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Operation: "DELETE"},
		{Kind: pubsub.Resync, Reason: pubsub.ReasonListen},
	} {
		_, body, err := encodeEvent("p", ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeEvent(body)
		if err != nil {
			return
		}
		if ev.Kind != pubsub.Resync && (ev.Schema == "" || ev.Table == "") {
			t.Fatalf("accepted %+v", ev)
		}
		if len(body) > 0 && body[0] == bodyJSON {
			return
		}
		// A binary body decodes to what its encoding decodes to.
		_, again, err := encodeEvent("p", ev)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", ev, err)
		}
		ev2, err := decodeEvent(again)
		if err != nil || ev2.String() != ev.String() || ev2.LSN != ev.LSN || !ev2.CommitTime.Equal(ev.CommitTime) ||
			ev2.Reason != ev.Reason || len(ev2.New) != len(ev.New) || len(ev2.Old) != len(ev.Old) {
			t.Fatalf("%+v re-encoded decodes to %+v, %v", ev, ev2, err)
		}
	})
}
