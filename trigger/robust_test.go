package trigger_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// The table changes shape after the trigger is installed; no write may fail
// and row_id must follow the current columns — also inside one transaction
// and one multi-statement query string, where a cached answer would be stale.
func TestEnsureSchemaChanges(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int, v int)")
	f.ensure(t, "public", "t")
	u := "33333333-3333-3333-3333-333333333333"
	f.exec(t,
		"INSERT INTO t (id) VALUES (1)",
		"ALTER TABLE t ADD COLUMN uuid uuid DEFAULT '"+u+"'",
		"INSERT INTO t (id) VALUES (2)",
		"ALTER TABLE t DROP COLUMN uuid",
		"INSERT INTO t (id) VALUES (3)",
		"ALTER TABLE t DROP COLUMN id",
		"INSERT INTO t (v) VALUES (4)",
		"ALTER TABLE t RENAME COLUMN v TO id",
		"INSERT INTO t (id) VALUES (5)",
		"ALTER TABLE t ALTER COLUMN id TYPE text",
		"INSERT INTO t (id) VALUES ('six')",
		"ALTER TABLE t ALTER COLUMN id TYPE varchar(9)", // a type read through dynamic SQL
		"INSERT INTO t (id) VALUES ('seven')",
		"ALTER TABLE t ALTER COLUMN id TYPE text",
		"INSERT INTO t (id) VALUES ('eight')",
	)
	f.expect(t, "public.t:INSERT:1", "public.t:INSERT:"+u, "public.t:INSERT:3", "public.t:INSERT:",
		"public.t:INSERT:5", "public.t:INSERT:six", "public.t:INSERT:seven", "public.t:INSERT:eight")

	// One transaction, one query string (one statement_timestamp).
	f.exec(t, `BEGIN; INSERT INTO t (id) VALUES ('7'); ALTER TABLE t ADD COLUMN uuid uuid DEFAULT '`+u+`';
		INSERT INTO t (id) VALUES ('8'); UPDATE t SET id = id; ALTER TABLE t DROP COLUMN uuid;
		INSERT INTO t (id) VALUES ('9'); DELETE FROM t WHERE id = '9'; COMMIT`)
	// The eight identical UPDATE payloads are folded into one by PostgreSQL.
	f.expect(t, "public.t:INSERT:7", "public.t:INSERT:"+u, "public.t:UPDATE:"+u, "public.t:INSERT:9", "public.t:DELETE:9")
}

// Statements that share one statement_timestamp() — one simple-query
// message (an implicit transaction), a DO block — see the columns as they
// are when each statement runs, and a type change of uuid or id under a
// session that already used the trigger does not make writes fail.
func TestEnsureSchemaChangesWithinOneCall(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int, uuid uuid, v int)")
	f.ensure(t, "public", "t")
	u1, u2 := "44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"
	f.exec(t, "INSERT INTO t VALUES (1, '"+u1+"'); ALTER TABLE t DROP COLUMN uuid; INSERT INTO t VALUES (2); "+
		"ALTER TABLE t ADD COLUMN uuid text DEFAULT 'u'; INSERT INTO t (id) VALUES (3), (4); "+
		"ALTER TABLE t DROP COLUMN id; INSERT INTO t (v) VALUES (5)")
	// The third statement's two identical payloads are folded into one.
	f.expect(t, "public.t:INSERT:"+u1, "public.t:INSERT:2", "public.t:INSERT:u")

	f.exec(t, `DO $$
	BEGIN
	  ALTER TABLE t ALTER COLUMN uuid DROP DEFAULT;
	  ALTER TABLE t ALTER COLUMN uuid TYPE uuid USING '`+u2+`';
	  ALTER TABLE t ALTER COLUMN uuid SET DEFAULT '`+u2+`';
	  INSERT INTO t (v) VALUES (6);
	  ALTER TABLE t RENAME COLUMN uuid TO id;
	  UPDATE t SET v = 7 WHERE v = 6;
	  ALTER TABLE t ADD COLUMN uuid bigint DEFAULT 8;
	  DELETE FROM t WHERE v = 7;
	  ALTER TABLE t ALTER COLUMN uuid TYPE int;
	  INSERT INTO t (v) VALUES (9);
	END $$`)
	f.expect(t, "public.t:INSERT:"+u2, "public.t:UPDATE:"+u2, "public.t:DELETE:8", "public.t:INSERT:8")

	// The id column changes type under a session whose plans saw the old one.
	f.exec(t, "CREATE TABLE k (id bigint)", "INSERT INTO k VALUES (1)")
	f.ensure(t, "public", "k")
	f.exec(t, "UPDATE k SET id = 2", "ALTER TABLE k ALTER COLUMN id TYPE numeric", "UPDATE k SET id = 3.5",
		"DELETE FROM k", "ALTER TABLE k ADD COLUMN uuid int DEFAULT 4", "INSERT INTO k VALUES (5)",
		"ALTER TABLE k ALTER COLUMN uuid TYPE text", "INSERT INTO k VALUES (6, 'six')", "DELETE FROM k WHERE id = 6")
	f.expect(t, "public.k:UPDATE:2", "public.k:UPDATE:3.5", "public.k:DELETE:3.5", "public.k:INSERT:4",
		"public.k:INSERT:six", "public.k:DELETE:six")
}

func TestEnsureIDKinds(t *testing.T) {
	tests := []struct {
		name   string
		create []string
		insert string
		want   string
	}{
		{"composite type id", []string{"CREATE TYPE pair AS (a int, b text)", "CREATE TABLE t (id pair)"},
			"INSERT INTO t VALUES (ROW(1, 'x y'))", `public.t:INSERT:(1,"x y")`},
		{"composite primary key, no id", []string{"CREATE TABLE t (a int, b int, PRIMARY KEY (a, b))"},
			"INSERT INTO t VALUES (1, 2)", "public.t:INSERT:"},
		{"identity id", []string{"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY, v int)"},
			"INSERT INTO t (v) VALUES (0)", "public.t:INSERT:1"},
		{"stored generated uuid", []string{"CREATE TABLE t (id int, uuid text GENERATED ALWAYS AS ('u' || id) STORED)"},
			"INSERT INTO t (id) VALUES (5)", "public.t:INSERT:u5"},
		{"array id", []string{"CREATE TABLE t (id int[])"},
			"INSERT INTO t VALUES ('{1,2}')", "public.t:INSERT:{1,2}"},
		{"domain id", []string{"CREATE DOMAIN pos AS int CHECK (VALUE > 0)", "CREATE TABLE t (id pos)"},
			"INSERT INTO t VALUES (3)", "public.t:INSERT:3"},
		{"jsonb uuid", []string{"CREATE TABLE t (uuid jsonb)"},
			`INSERT INTO t VALUES ('{"k": 1}')`, `public.t:INSERT:{"k": 1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setupTriggers(t)
			f.exec(t, tc.create...)
			f.ensure(t, "public", "t")
			f.exec(t, tc.insert)
			f.expect(t, tc.want)
		})
	}
}

func TestEnsureTruncate(t *testing.T) {
	for _, mode := range []string{"row", "statement"} {
		t.Run(mode, func(t *testing.T) {
			f := setupTriggers(t)
			f.exec(t, "CREATE TABLE t (id int)")
			if mode == "row" {
				f.ensure(t, "public", "t")
			} else {
				f.ensure(t, "public", "t", trigger.PerStatement())
			}
			f.exec(t, "TRUNCATE t", "BEGIN; TRUNCATE t; ROLLBACK")
			f.expect(t, "public.t:TRUNCATE:")
		})
	}
}

func TestEnsurePerStatement(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	f.ensure(t, "public", "t", trigger.PerStatement())
	if names := f.triggerNames(t, "public", "t"); len(names) != 1 || names[0] != "phoenix_kit_db_change_public_t" {
		t.Fatalf("triggers %q", names)
	}
	f.exec(t, "INSERT INTO t SELECT g FROM generate_series(1, 100) g", "UPDATE t SET id = id + 1",
		"BEGIN; DELETE FROM t WHERE id < 10; DELETE FROM t WHERE id < 20; COMMIT")
	f.expect(t, "public.t:INSERT:", "public.t:UPDATE:", "public.t:DELETE:")

	// Switch to rows and back; each switch leaves exactly one mode installed.
	f.ensure(t, "public", "t")
	if names := f.triggerNames(t, "public", "t"); len(names) != 2 || names[0] != "phoenix_kit_db_change_public_t" || names[1] != "phoenixkitdb_truncate" {
		t.Fatalf("row mode triggers %q", names)
	}
	f.exec(t, "INSERT INTO t VALUES (500)")
	f.expect(t, "public.t:INSERT:500")
	f.ensure(t, "public", "t", trigger.PerStatement())
	f.exec(t, "INSERT INTO t VALUES (501), (502)")
	f.expect(t, "public.t:INSERT:")
}

func TestEnsureRolledBack(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	f.ensure(t, "public", "t")
	f.exec(t, "BEGIN", "INSERT INTO t VALUES (1)", "ROLLBACK",
		"BEGIN", "INSERT INTO t VALUES (2)", "SAVEPOINT s", "INSERT INTO t VALUES (3)", "ROLLBACK TO s", "COMMIT")
	f.expect(t, "public.t:INSERT:2")
}

func TestEnsureChannel(t *testing.T) {
	f := setupTriggers(t)
	f.listenOn(t, `Mixed "Chan'nel\`)
	f.exec(t, "CREATE TABLE t (id int)")
	f.ensure(t, "public", "t", trigger.WithChannel(`Mixed "Chan'nel\`))
	f.exec(t, "INSERT INTO t VALUES (1)")
	msg, err := f.listen.WaitForNotification(t.Context())
	if err != nil || msg.Channel != `Mixed "Chan'nel\` || msg.Payload != "public.t:INSERT:1" {
		t.Fatalf("got %+v, %v", msg, err)
	}
}
