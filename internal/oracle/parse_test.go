package oracle_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/oracle"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func col(name, typ string, st pubsub.ColumnState, text string) oracle.Column {
	return oracle.Column{Name: name, Type: typ, State: st, Text: text}
}

// parseCases are lines as test_decoding prints them (PostgreSQL 15's
// contrib/test_decoding) and what they mean.
var parseCases = []struct {
	line string
	want oracle.Change
}{
	{"BEGIN", oracle.Change{Kind: oracle.Begin}},
	{"BEGIN 742", oracle.Change{Kind: oracle.Begin, Xid: 742, HasXid: true}},
	{"COMMIT", oracle.Change{Kind: oracle.Commit}},
	{"COMMIT 742", oracle.Change{Kind: oracle.Commit, Xid: 742, HasXid: true}},
	{"COMMIT 742 (at 2024-02-29 13:34:56.5+00)", oracle.Change{Kind: oracle.Commit, Xid: 742, HasXid: true}},
	{"COMMIT (at 2024-02-29 13:34:56.5+00)", oracle.Change{Kind: oracle.Commit}},
	{"PREPARE TRANSACTION 'g''1', txid 9", oracle.Change{Kind: oracle.Prepare, GID: "g'1", Xid: 9, HasXid: true}},
	{"COMMIT PREPARED 'g1'", oracle.Change{Kind: oracle.CommitPrepared, GID: "g1"}},
	{"ROLLBACK PREPARED 'g1', txid 10 (at 2024-01-01 00:00:00+00)", oracle.Change{Kind: oracle.RollbackPrepared, GID: "g1", Xid: 10, HasXid: true}},
	{"table public.t: INSERT: id[integer]:1 n[numeric]:NaN f[double precision]:-Infinity b[boolean]:true c[boolean]:false " +
		"s[text]:'it''s a \\ test' bits[bit varying]:B'101' z[text]:null a[integer[]]:'{{1,2},{3,NULL}}'",
		oracle.Change{Kind: oracle.Insert, Rel: oracle.Relation{"public", "t"}, New: []oracle.Column{
			col("id", "integer", pubsub.Present, "1"),
			col("n", "numeric", pubsub.Present, "NaN"),
			col("f", "double precision", pubsub.Present, "-Infinity"),
			col("b", "boolean", pubsub.Present, "t"),
			col("c", "boolean", pubsub.Present, "f"),
			col("s", "text", pubsub.Present, `it's a \ test`),
			col("bits", "bit varying", pubsub.Present, "101"),
			col("z", "text", pubsub.Null, ""),
			col("a", "integer[]", pubsub.Present, "{{1,2},{3,NULL}}"),
		}}},
	{`table "Odd Schema"."Tablé ""q""": INSERT: "x]:y"[text]:'a b' "new-tuple"[integer]:null "select"["My ""Type""[]"]:'{}'`,
		oracle.Change{Kind: oracle.Insert, Rel: oracle.Relation{"Odd Schema", `Tablé "q"`}, New: []oracle.Column{
			col("x]:y", "text", pubsub.Present, "a b"),
			col("new-tuple", "integer", pubsub.Null, ""),
			col("select", `"My ""Type""[]"`, pubsub.Present, "{}"),
		}}},
	{"table public.t: INSERT:", oracle.Change{Kind: oracle.Insert, Rel: oracle.Relation{"public", "t"}, New: []oracle.Column{}}},
	{"table public.t: UPDATE: id[integer]:1 big[text]:unchanged-toast-datum",
		oracle.Change{Kind: oracle.Update, Rel: oracle.Relation{"public", "t"}, New: []oracle.Column{
			col("id", "integer", pubsub.Present, "1"),
			col("big", "text", pubsub.UnchangedTOAST, ""),
		}}},
	{"table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 v[text]:''",
		oracle.Change{Kind: oracle.Update, Rel: oracle.Relation{"public", "t"}, HasOld: true,
			Old: []oracle.Column{col("id", "integer", pubsub.Present, "1")},
			New: []oracle.Column{col("id", "integer", pubsub.Present, "2"), col("v", "text", pubsub.Present, "")}}},
	{"table public.t: DELETE: a[integer]:1 b[text]:'x'",
		oracle.Change{Kind: oracle.Delete, Rel: oracle.Relation{"public", "t"}, HasOld: true,
			Old: []oracle.Column{col("a", "integer", pubsub.Present, "1"), col("b", "text", pubsub.Present, "x")}}},
	{"table public.t: DELETE: (no-tuple-data)", oracle.Change{Kind: oracle.Delete, Rel: oracle.Relation{"public", "t"}, NoTupleData: true}},
	{"table public.a, public.b: TRUNCATE: (no-flags)",
		oracle.Change{Kind: oracle.Truncate, Truncated: []oracle.Relation{{"public", "a"}, {"public", "b"}}}},
	{"table public.a: TRUNCATE: restart_seqs cascade",
		oracle.Change{Kind: oracle.Truncate, Truncated: []oracle.Relation{{"public", "a"}}, Cascade: true, RestartSeqs: true}},
	{"table public.a: TRUNCATE: cascade",
		oracle.Change{Kind: oracle.Truncate, Truncated: []oracle.Relation{{"public", "a"}}, Cascade: true}},
	{"message: transactional: 1 prefix: p, sz: 5 content:a\nb c",
		oracle.Change{Kind: oracle.Message, Transactional: true, Prefix: "p", Content: []byte("a\nb c"), Size: 5}},
	{"message: transactional: 0 prefix: odd, sz: 3 content:x, sz: 1 content:y",
		oracle.Change{Kind: oracle.Message, Prefix: "odd, sz: 3 content:x", Content: []byte("y"), Size: 1}},
	{"message: transactional: 1 prefix: , sz: 0 content:",
		oracle.Change{Kind: oracle.Message, Transactional: true, Prefix: "", Content: []byte{}}},
	// From a LATIN1 database: 3 bytes there, 4 in UTF-8.
	{"message: transactional: 1 prefix: odd, sz: 3 content:x, sz: 3 content:,ÿ ",
		oracle.Change{Kind: oracle.Message, Transactional: true, Prefix: "odd, sz: 3 content:x", Content: []byte(",ÿ "), Size: 3}},
}

func TestParseChange(t *testing.T) {
	for _, c := range parseCases {
		got, err := oracle.ParseChange(c.line)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.line, got, c.want)
		}
	}
}

func TestParseChangeRejects(t *testing.T) {
	for _, line := range []string{
		"", "BEGIN x", "COMMIT x", "table public: INSERT:", "table public.t INSERT:", "table public.t: MERGE:",
		"table public.t: INSERT: id[integer]", "table public.t: INSERT: id[integer]:'open", "table public.t: INSERT: id[]:1",
		`table public."t: INSERT:`, "table public.t: INSERT: id[integer]:1  ", "table public.t: TRUNCATE:",
		"table public.a, public.b: INSERT: (no-tuple-data)", "table public.t: UPDATE: old-key: id[integer]:1",
		"message: transactional: 2 prefix: p, sz: 0 content:", "message: transactional: 1 prefix: p content:",
		"streaming change for TXN 5",
	} {
		if c, err := oracle.ParseChange(line); !errors.Is(err, oracle.ErrSyntax) {
			t.Errorf("%q: got %+v, %v; want ErrSyntax", line, c, err)
		}
	}
}

// render prints a change as test_decoding would, for the round trip of
// the fuzz target. It quotes every identifier and every value.
func render(c oracle.Change) string {
	ident := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	rel := func(r oracle.Relation) string { return ident(r.Schema) + "." + ident(r.Table) }
	tuple := func(cols []oracle.Column) string {
		var b strings.Builder
		for _, col := range cols {
			b.WriteString(" " + ident(col.Name) + "[" + col.Type + "]:")
			switch col.State {
			case pubsub.Null:
				b.WriteString("null")
			case pubsub.UnchangedTOAST:
				b.WriteString("unchanged-toast-datum")
			default:
				b.WriteString("'" + strings.ReplaceAll(col.Text, "'", "''") + "'")
			}
		}
		return b.String()
	}
	switch c.Kind {
	case oracle.Insert, oracle.Update, oracle.Delete:
		s := "table " + rel(c.Rel) + ": " + c.Kind.String() + ":"
		if c.NoTupleData && c.Kind != oracle.Update {
			return s + " (no-tuple-data)"
		}
		if c.Kind == oracle.Delete {
			return s + tuple(c.Old)
		}
		if c.HasOld {
			s += " old-key:" + tuple(c.Old) + " new-tuple:"
		}
		if c.NoTupleData {
			return s + " (no-tuple-data)"
		}
		return s + tuple(c.New)
	case oracle.Truncate:
		names := make([]string, len(c.Truncated))
		for i, r := range c.Truncated {
			names[i] = rel(r)
		}
		s := "table " + strings.Join(names, ", ") + ": TRUNCATE:"
		if c.RestartSeqs {
			s += " restart_seqs"
		}
		if c.Cascade {
			s += " cascade"
		}
		if !c.RestartSeqs && !c.Cascade {
			s += " (no-flags)"
		}
		return s
	}
	return ""
}

// FuzzParseChange: no input panics; a parsed row change or TRUNCATE,
// printed again with every identifier and value quoted, parses to the
// same change (types keep their text, a boolean's true becoming 't').
func FuzzParseChange(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := oracle.ParseChange(line)
		if err != nil {
			if !errors.Is(err, oracle.ErrSyntax) {
				t.Fatalf("%q: error %v does not wrap ErrSyntax", line, err)
			}
			return
		}
		again := render(c)
		if again == "" {
			return
		}
		c2, err := oracle.ParseChange(again)
		if err != nil {
			t.Fatalf("%q parsed, its rendering %q does not: %v", line, again, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("%q -> %+v\nrendered %q -> %+v", line, c, again, c2)
		}
	})
}

func TestKindString(t *testing.T) {
	if oracle.Insert.String() != "INSERT" || oracle.Kind(99).String() != "Kind("+strconv.Itoa(99)+")" {
		t.Fatal(oracle.Insert.String(), oracle.Kind(99).String())
	}
}
