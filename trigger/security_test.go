package trigger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// genuineBodies installs the notify functions in a scratch schema and
// returns their source, which an attacker can read from pg_proc as well.
func genuineBodies(t *testing.T, f *trigFixture) map[string]string {
	t.Helper()
	f.exec(t, "CREATE SCHEMA scratch", "CREATE TABLE scratch.t (id int)")
	f.ensure(t, "scratch", "t")
	rows, err := f.db.Query(t.Context(), `SELECT proname::text, prosrc FROM pg_proc
		WHERE pronamespace = 'scratch'::regnamespace AND proname LIKE 'phoenixkitdb%'`)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{}
	for rows.Next() {
		var name, src string
		if err := rows.Scan(&name, &src); err != nil {
			t.Fatal(err)
		}
		bodies[name] = src
	}
	if rows.Err() != nil || len(bodies) != 2 {
		t.Fatalf("bodies %v, %v", bodies, rows.Err())
	}
	return bodies
}

// The attack of the issue: a role with CREATE on the table's schema
// pre-creates the notify functions with the genuine bodies, waits for a
// superuser to run Ensure, then swaps the body; the next privileged
// write would run its code. Ensure must refuse the foreign functions,
// so the swap reaches nobody; after a legitimate install the role can no
// longer change what a write runs.
func TestEnsureRefusesUntrustedFunction(t *testing.T) {
	f := setupTriggers(t)
	evil := pgtest.NewRole(t, f.url, "evil")
	qe := pgx.Identifier{evil}.Sanitize()
	bodies := genuineBodies(t, f)
	f.exec(t, "CREATE SCHEMA app", "GRANT USAGE, CREATE ON SCHEMA app TO "+qe, "CREATE TABLE app.t (id int)")

	attacker := connectAs(t, f, evil)
	for name, src := range bodies {
		execOn(t, attacker, "CREATE FUNCTION app."+name+"() RETURNS trigger LANGUAGE plpgsql AS $phoenixkitdb$"+src+"$phoenixkitdb$")
	}
	err := trigger.Ensure(t.Context(), f.db, "app", "t")
	if !errors.Is(err, trigger.ErrUntrustedFunction) {
		t.Errorf("Ensure over the attacker's functions = %v, want ErrUntrustedFunction", err)
	} else if msg := err.Error(); !strings.Contains(msg, `"app".`) || !strings.Contains(msg, evil) {
		t.Errorf("error %q does not name the function and its owner", msg)
	}
	if names := f.triggerNames(t, "app", "t"); len(names) != 0 {
		t.Errorf("triggers installed anyway: %q", names)
	}

	// The swap: had Ensure adopted the function, this superuser write
	// would make the attacker a superuser.
	escalate := `() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', ` + quoteLiteral(evil) + `);
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN NULL;
END $$`
	execOn(t, attacker, "CREATE OR REPLACE FUNCTION app.phoenixkitdb_notify_row"+escalate)
	f.exec(t, "INSERT INTO app.t VALUES (1)")
	if isSuperuser(t, f, evil) {
		t.Fatal("a superuser's write ran the attacker's function")
	}

	// The legitimate install, once the foreign functions are gone.
	f.exec(t, "DROP FUNCTION app.phoenixkitdb_notify_row()", "DROP FUNCTION app.phoenixkitdb_notify_statement()")
	f.ensure(t, "app", "t")
	var owners string
	if err := f.db.QueryRow(t.Context(), `SELECT string_agg(DISTINCT proowner::regrole::text, ',') FROM pg_proc
		WHERE pronamespace = 'app'::regnamespace AND proname LIKE 'phoenixkitdb%'`).Scan(&owners); err != nil || owners != "postgres" {
		t.Fatalf("functions owned by %q (%v), want the installing role", owners, err)
	}
	for _, stmt := range []string{
		"CREATE OR REPLACE FUNCTION app.phoenixkitdb_notify_row" + escalate,
		"ALTER FUNCTION app.phoenixkitdb_notify_row() SECURITY DEFINER",
		"ALTER FUNCTION app.phoenixkitdb_notify_row() RENAME TO x",
		"DROP FUNCTION app.phoenixkitdb_notify_row() CASCADE",
	} {
		if _, err := attacker.Exec(t.Context(), stmt); err == nil {
			t.Errorf("the attacker could run %q", stmt)
		}
	}
	f.exec(t, "INSERT INTO app.t VALUES (2)")
	f.expect(t, "app.t:INSERT:2")
	if isSuperuser(t, f, evil) {
		t.Fatal("a superuser's write ran the attacker's code")
	}
}

// A writer's search_path cannot make the installed functions run an
// operator someone else defined: everything in them is qualified with
// pg_catalog. Here a role with CREATE on the schema defines "=" for text in
// it, and a superuser writes with that schema ahead of pg_catalog.
func TestTriggerFunctionsIgnoreSearchPath(t *testing.T) {
	f := setupTriggers(t)
	evil := pgtest.NewRole(t, f.url, "evil")
	qe := pgx.Identifier{evil}.Sanitize()
	f.exec(t, "CREATE SCHEMA app", "GRANT USAGE, CREATE ON SCHEMA app TO "+qe, "CREATE TABLE app.t (id int)")
	f.ensure(t, "app", "t")
	f.ensure(t, "app", "t") // a second call must not adopt anything either

	attacker := connectAs(t, f, evil)
	for _, op := range []struct{ name, fn, args string }{
		{"=", "evil_eq", "text, text"}, // TG_OP = 'DELETE', the statement mode's tests
		{">", "evil_gt", "integer, integer"},
	} {
		execOn(t, attacker, "CREATE FUNCTION app."+op.fn+"("+op.args+`) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', `+quoteLiteral(evil)+`);
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN $1 OPERATOR(pg_catalog.`+op.name+`) $2;
END $$`,
			"CREATE OPERATOR app."+op.name+" (LEFTARG = "+strings.Split(op.args, ",")[0]+", RIGHTARG = "+
				strings.TrimSpace(strings.Split(op.args, ",")[1])+", FUNCTION = app."+op.fn+")")
	}
	writer := connect(t, f.url) // a fresh session: nothing planned yet
	execOn(t, writer, "SET search_path = app, pg_catalog",
		"INSERT INTO app.t VALUES (1)", "UPDATE app.t SET id = 2", "DELETE FROM app.t", "TRUNCATE app.t")
	f.expect(t, "app.t:INSERT:1", "app.t:UPDATE:2", "app.t:DELETE:2", "app.t:TRUNCATE:")
	if isSuperuser(t, f, evil) {
		t.Fatal("a superuser's write ran an operator of the attacker's")
	}
}

// Functions another role installed are used only when that role is trusted:
// the installing role itself, a superuser, or one named with
// trigger.WithTrustedOwners. A role that owns its table and has CREATE on the
// schema can install (the privileges docs/triggers.md lists).
func TestEnsureTrustedOwners(t *testing.T) {
	f := setupTriggers(t)
	admin, app := pgtest.NewRole(t, f.url, "admin"), pgtest.NewRole(t, f.url, "app")
	qa, qp := pgx.Identifier{admin}.Sanitize(), pgx.Identifier{app}.Sanitize()
	f.exec(t, "CREATE SCHEMA s", "GRANT USAGE, CREATE ON SCHEMA s TO "+qa+", "+qp,
		"CREATE TABLE s.a (id int)", "ALTER TABLE s.a OWNER TO "+qa,
		"CREATE TABLE s.b (id int)", "ALTER TABLE s.b OWNER TO "+qp,
		"CREATE SCHEMA su", "GRANT USAGE, CREATE ON SCHEMA su TO "+qp,
		"CREATE TABLE su.x (id int)", "CREATE TABLE su.y (id int)", "ALTER TABLE su.y OWNER TO "+qp)

	asAdmin, asApp := connectAs(t, f, admin), connectAs(t, f, app)
	if err := trigger.Ensure(t.Context(), asAdmin, "s", "a"); err != nil {
		t.Fatalf("a table owner with CREATE on the schema: %v", err)
	}
	err := trigger.Ensure(t.Context(), asApp, "s", "b")
	if !errors.Is(err, trigger.ErrUntrustedFunction) {
		t.Fatalf("functions of another role = %v, want ErrUntrustedFunction", err)
	}
	if err := trigger.Ensure(t.Context(), asApp, "s", "b", trigger.WithTrustedOwners(admin)); err != nil {
		t.Fatalf("with trigger.WithTrustedOwners: %v", err)
	}
	// A superuser's functions are trusted by every role.
	f.ensure(t, "su", "x")
	if err := trigger.Ensure(t.Context(), asApp, "su", "y"); err != nil {
		t.Fatalf("functions a superuser owns: %v", err)
	}
	f.exec(t, "INSERT INTO s.a VALUES (1)", "INSERT INTO s.b VALUES (2)", "INSERT INTO su.y VALUES (3)")
	f.expect(t, "s.a:INSERT:1", "s.b:INSERT:2", "su.y:INSERT:3")

	// A trusted role's outdated function can only be updated by its owner:
	// the error says whom to ask.
	execOn(t, asAdmin, `CREATE OR REPLACE FUNCTION s.phoenixkitdb_notify_statement() RETURNS trigger
		LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`)
	err = trigger.Ensure(t.Context(), asApp, "s", "b", trigger.WithTrustedOwners(admin))
	if err == nil || !strings.Contains(err.Error(), "earlier version") || !strings.Contains(err.Error(), admin) {
		t.Fatalf("outdated function of another role: %v", err)
	}
	if err := trigger.Ensure(t.Context(), asAdmin, "s", "a"); err != nil {
		t.Fatal(err)
	}
	if err := trigger.Ensure(t.Context(), asApp, "s", "b", trigger.WithTrustedOwners(admin)); err != nil {
		t.Fatal(err)
	}
}

// The catalog-changing functions need a Querier that can begin a
// transaction; without one they send nothing.
func TestTriggerFunctionsNeedBegin(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	q := noBegin{f.db}
	for name, err := range map[string]error{
		"Ensure":    trigger.Ensure(t.Context(), q, "public", "t"),
		"Remove":    trigger.Remove(t.Context(), q, "public", "t"),
		"RemoveAll": trigger.RemoveAll(t.Context(), q),
	} {
		if !errors.Is(err, pgsql.ErrNoTransaction) {
			t.Errorf("%s = %v, want ErrNoTransaction", name, err)
		}
	}
	if names := f.triggerNames(t, "public", "t"); len(names) != 0 {
		t.Fatalf("installed anyway: %q", names)
	}
	if _, err := trigger.Has(t.Context(), q, "public", "t"); err != nil {
		t.Errorf("Has needs no Begin: %v", err)
	}
}

// noBegin hides the Begin method of the connection it wraps.
type noBegin struct{ c *pgx.Conn }

func (n noBegin) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return n.c.Exec(ctx, sql, args...)
}

func (n noBegin) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return n.c.Query(ctx, sql, args...)
}

func (n noBegin) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return n.c.QueryRow(ctx, sql, args...)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// The TRUNCATE helper notifies only while the table has a row trigger
// calling phoenixkitdb_notify_row of the helper's own schema: a function of
// that name elsewhere (anyone's) does not count.
func TestTruncateHelperIgnoresForeignRowFunction(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	f.ensure(t, "public", "t")
	f.exec(t, "DROP TRIGGER phoenix_kit_db_change_public_t ON t", // PhoenixKit's remove_trigger
		"CREATE SCHEMA other",
		"CREATE FUNCTION other.phoenixkitdb_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
		"CREATE TRIGGER unrelated AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION other.phoenixkitdb_notify_row()",
		"TRUNCATE t")
	f.expect(t)
}
