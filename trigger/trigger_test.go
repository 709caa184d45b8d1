package trigger_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

func TestEnsureRowID(t *testing.T) {
	const u1, u2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	tests := []struct {
		name  string
		cols  string
		stmts []string
		want  []string
	}{
		{"uuid wins over id", "id int, uuid uuid, v int",
			[]string{"INSERT INTO t VALUES (1, '" + u1 + "', 0)"}, []string{"public.t:INSERT:" + u1}},
		{"update uses new row", "id int, uuid uuid, v int",
			[]string{"INSERT INTO t VALUES (1, '" + u1 + "', 0)", "UPDATE t SET uuid = '" + u2 + "'"},
			[]string{"public.t:INSERT:" + u1, "public.t:UPDATE:" + u2}},
		{"delete uses old row", "id int, uuid uuid, v int",
			[]string{"INSERT INTO t VALUES (1, '" + u1 + "', 0)", "DELETE FROM t"},
			[]string{"public.t:INSERT:" + u1, "public.t:DELETE:" + u1}},
		{"id only", "id bigint, v int",
			[]string{"INSERT INTO t VALUES (42, 0)", "UPDATE t SET id = 43", "DELETE FROM t"},
			[]string{"public.t:INSERT:42", "public.t:UPDATE:43", "public.t:DELETE:43"}},
		{"neither", "v int",
			[]string{"INSERT INTO t VALUES (1)"}, []string{"public.t:INSERT:"}},
		{"null uuid does not fall back to id", "id int, uuid uuid",
			[]string{"INSERT INTO t VALUES (7, NULL)"}, []string{"public.t:INSERT:"}},
		{"null id", "id int", []string{"INSERT INTO t VALUES (NULL)"}, []string{"public.t:INSERT:"}},
		{"text uuid column", "uuid text", []string{"INSERT INTO t VALUES ('a:b.c')"}, []string{"public.t:INSERT:a:b.c"}},
		{"several rows in order", "id int",
			[]string{"INSERT INTO t SELECT g FROM generate_series(1, 3) g"},
			[]string{"public.t:INSERT:1", "public.t:INSERT:2", "public.t:INSERT:3"}},
		{"upsert", "id int PRIMARY KEY, v int",
			[]string{"INSERT INTO t VALUES (1, 0)", "INSERT INTO t VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 1"},
			[]string{"public.t:INSERT:1", "public.t:UPDATE:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setupTriggers(t)
			f.exec(t, "CREATE TABLE t ("+tc.cols+")")
			f.ensure(t, "public", "t")
			f.exec(t, tc.stmts...)
			f.expect(t, tc.want...)
		})
	}
}

// Names the payload can carry must work end to end, quoted everywhere.
func TestEnsureHostileNames(t *testing.T) {
	f := setupTriggers(t)
	names := []struct{ schema, table string }{
		{"public", "MixedCase"},
		{"public", "with space"},
		{"public", `quo"te`},
		{"public", "it's"},
		{"public", "a.b"},
		{"ünïcødé", "日本語"},
		{"Sch ema", `x"; DROP TABLE t; --`},
		{"public", "Robert'); DROP TABLE students;--"},
		{"public", `back\slash`},
		{`s$1`, "$$dollar$$"},
	}
	for _, n := range names {
		if n.schema != "public" {
			f.exec(t, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{n.schema}.Sanitize())
		}
		f.exec(t, "CREATE TABLE "+qt(n.schema, n.table)+" (id int)")
		f.ensure(t, n.schema, n.table)
		f.exec(t, "INSERT INTO "+qt(n.schema, n.table)+" VALUES (1)")
		f.expect(t, n.schema+"."+n.table+":INSERT:1")
		if ok, err := trigger.Has(t.Context(), f.db, n.schema, n.table); err != nil || !ok {
			t.Errorf("Has(%q, %q) = %v, %v", n.schema, n.table, ok, err)
		}
	}
	tables, err := trigger.List(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !slices.Contains(tables, pgsql.Table{Schema: n.schema, Name: n.table}) {
			t.Errorf("List lacks %q.%q: %v", n.schema, n.table, tables)
		}
	}
	for _, n := range names {
		if err := trigger.Remove(t.Context(), f.db, n.schema, n.table); err != nil {
			t.Fatal(err)
		}
		f.exec(t, "INSERT INTO "+qt(n.schema, n.table)+" VALUES (2)")
	}
	f.expect(t)
	if tables, _ := trigger.List(t.Context(), f.db); len(tables) != 0 {
		t.Errorf("after Remove: %v", tables)
	}
}

func TestEnsureRejects(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name, schema, table string
		opts                []trigger.Option
	}{
		{"colon in table", "public", "a:b", nil},
		{"colon in schema", "a:b", "t", nil},
		{"dot in schema", "a.b", "t", nil},
		{"empty schema", "", "t", nil},
		{"empty table", "public", "", nil},
		{"NUL", "public", "a\x00b", nil},
		{"too long", "public", long, nil},
		{"invalid UTF-8", "public", "a\xffb", nil},
		{"empty channel", "public", "t", []trigger.Option{trigger.WithChannel("")}},
		{"long channel", "public", "t", []trigger.Option{trigger.WithChannel(long)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A nil Querier proves nothing is sent before validation.
			err := trigger.Ensure(t.Context(), nil, tc.schema, tc.table, tc.opts...)
			if !errors.Is(err, pgsql.ErrInvalidIdentifier) {
				t.Fatalf("Ensure(%q, %q) = %v, want ErrInvalidIdentifier", tc.schema, tc.table, err)
			}
		})
	}
	for _, bad := range []string{"", "a\x00b", long} {
		if _, err := trigger.Has(t.Context(), nil, "public", bad); !errors.Is(err, pgsql.ErrInvalidIdentifier) {
			t.Errorf("Has(%q) = %v", bad, err)
		}
		if err := trigger.Remove(t.Context(), nil, "public", bad); !errors.Is(err, pgsql.ErrInvalidIdentifier) {
			t.Errorf("Remove(%q) = %v", bad, err)
		}
	}
}

// Two long names whose trigger names truncate to the same 63 bytes each get
// working triggers, and the TRUNCATE helper never collides with the main
// trigger.
func TestEnsureLongNames(t *testing.T) {
	f := setupTriggers(t)
	prefix := strings.Repeat("long_table_name_", 3) // 48 bytes: trigger names truncate within it
	t1, t2 := prefix+"number_one", prefix+"number_two"
	for _, tb := range []string{t1, t2} {
		if len(tb) > 63 {
			t.Fatalf("bad test: %d bytes", len(tb))
		}
		f.exec(t, "CREATE TABLE "+qt("public", tb)+" (id int)")
		f.ensure(t, "public", tb)
		if names := f.triggerNames(t, "public", tb); len(names) != 2 {
			t.Errorf("%s: triggers %q, want 2 distinct", tb, names)
		}
		if ok, err := trigger.Has(t.Context(), f.db, "public", tb); err != nil || !ok {
			t.Errorf("Has = %v, %v", ok, err)
		}
	}
	f.exec(t, "INSERT INTO "+qt("public", t1)+" VALUES (1)", "INSERT INTO "+qt("public", t2)+" VALUES (2)",
		"TRUNCATE "+qt("public", t1))
	f.expect(t, "public."+t1+":INSERT:1", "public."+t2+":INSERT:2", "public."+t1+":TRUNCATE:")
}

func TestEnsureLargeID(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id text)")
	f.ensure(t, "public", "t")
	prefix := "public.t:INSERT:"
	fits := strings.Repeat("a", 7999-len(prefix)) // payload of 7999 bytes
	f.exec(t,
		"INSERT INTO t VALUES (repeat('b', 9000))",
		"INSERT INTO t VALUES (repeat('c', 1000000))",
		"INSERT INTO t VALUES ('"+fits+"')",
		"INSERT INTO t VALUES ('"+fits+"a')", // 8000 bytes: too long
		"INSERT INTO t VALUES (repeat('é', 3995))",
	)
	f.expect(t, prefix, prefix, prefix+fits, prefix, prefix)
}
