package trigger_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/writecost"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// phoenixKitFunction is PhoenixKit's function as its source describes it.
var phoenixKitFunction = writecost.PhoenixKitFunction("phoenix_kit_notify_table_change", "'phoenix_kit_db_changes'")

// phoenixKitEnsure does what PhoenixKit's ensure_trigger does for a name it
// accepts ([a-zA-Z0-9_]+): replace the function, then create the trigger
// under an unquoted name unless information_schema shows it.
func phoenixKitEnsure(t *testing.T, f *trigFixture, schema, table string) {
	t.Helper()
	f.exec(t, phoenixKitFunction)
	name := "phoenix_kit_db_change_" + schema + "_" + table
	var n int
	if err := f.db.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.triggers WHERE trigger_name = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		f.exec(t, "CREATE TRIGGER "+name+" AFTER INSERT OR UPDATE OR DELETE ON "+qt(schema, table)+
			" FOR EACH ROW EXECUTE FUNCTION phoenix_kit_notify_table_change()")
	}
}

func TestPhoenixKitTriggerFoundByUs(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE \"Orders\" (id int)", "CREATE TABLE items (id int)")
	phoenixKitEnsure(t, f, "public", "Orders") // unquoted: PostgreSQL folds the trigger name
	phoenixKitEnsure(t, f, "public", "items")
	for _, tb := range []string{"Orders", "items"} {
		if ok, err := trigger.Has(t.Context(), f.db, "public", tb); err != nil || !ok {
			t.Fatalf("Has(%s) = %v, %v", tb, ok, err)
		}
	}
	tables, err := trigger.List(t.Context(), f.db)
	if err != nil || len(tables) != 2 || tables[0] != (pgsql.Table{Schema: "public", Name: "Orders"}) {
		t.Fatalf("List = %v, %v", tables, err)
	}
	// Ensure replaces PhoenixKit's trigger by ours under the same name:
	// still exactly one notification per row.
	f.ensure(t, "public", "items")
	f.exec(t, `INSERT INTO "Orders" VALUES (1)`, "INSERT INTO items VALUES (2)")
	f.expect(t, "public.Orders:INSERT:1", "public.items:INSERT:2")
	if err := trigger.Remove(t.Context(), f.db, "public", "Orders"); err != nil {
		t.Fatal(err)
	}
	if err := trigger.RemoveAll(t.Context(), f.db); err != nil {
		t.Fatal(err)
	}
	f.exec(t, `INSERT INTO "Orders" VALUES (1)`, "INSERT INTO items VALUES (2)")
	f.expect(t)
	if tables, _ := trigger.List(t.Context(), f.db); len(tables) != 0 {
		t.Fatalf("left: %v", tables)
	}
}

func TestOurTriggerFoundByPhoenixKit(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE accounts (id int, uuid uuid)")
	f.ensure(t, "public", "accounts")
	// PhoenixKit then ensures the same table (replacing its function): it
	// must see our trigger and add none, and ours keeps working.
	phoenixKitEnsure(t, f, "public", "accounts")
	f.exec(t, "INSERT INTO accounts VALUES (1, NULL)", "INSERT INTO accounts VALUES (2, '44444444-4444-4444-4444-444444444444')")
	f.expect(t, "public.accounts:INSERT:", "public.accounts:INSERT:44444444-4444-4444-4444-444444444444")

	if listed := phoenixKitListed(t, f); listed != 1 {
		t.Fatalf("PhoenixKit's list sees %d tables", listed)
	}
	// PhoenixKit's remove_trigger drops our main trigger: rows stop notifying.
	f.exec(t, "DROP TRIGGER IF EXISTS phoenix_kit_db_change_public_accounts ON public.accounts")
	if ok, _ := trigger.Has(t.Context(), f.db, "public", "accounts"); ok {
		t.Fatal("Has after PhoenixKit removed it")
	}
	f.exec(t, "INSERT INTO accounts VALUES (3, NULL)")
	f.expect(t)
	f.ensure(t, "public", "accounts")
	f.exec(t, "INSERT INTO accounts VALUES (4, NULL)")
	f.expect(t, "public.accounts:INSERT:")
}

// After PhoenixKit's remove_trigger (which drops only the main trigger)
// nothing of ours notifies, costs a call per statement or is listed, on
// either side; Remove and Ensure clean up what is left.
func TestRemoveByPhoenixKitLeavesNothingActive(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE accounts (id int)", "CREATE TABLE other (id int)")
	f.ensure(t, "public", "accounts")
	f.ensure(t, "public", "other")
	f.exec(t, "DROP TRIGGER IF EXISTS phoenix_kit_db_change_public_accounts ON public.accounts")

	f.exec(t, "INSERT INTO accounts VALUES (1)", "UPDATE accounts SET id = 2", "DELETE FROM accounts",
		"TRUNCATE accounts", "BEGIN; INSERT INTO accounts VALUES (3); TRUNCATE accounts; COMMIT")
	f.expect(t)
	if ok, err := trigger.Has(t.Context(), f.db, "public", "accounts"); err != nil || ok {
		t.Fatalf("Has = %v, %v", ok, err)
	}
	tables, err := trigger.List(t.Context(), f.db)
	if err != nil || len(tables) != 1 || tables[0].Name != "other" {
		t.Fatalf("List = %v, %v", tables, err)
	}
	if n := phoenixKitListed(t, f); n != 1 {
		t.Fatalf("PhoenixKit's list sees %d tables, want 1", n)
	}
	// What is left fires on TRUNCATE only: no trigger of ours runs for
	// INSERT, UPDATE or DELETE.
	var perStatement int
	if err := f.db.QueryRow(t.Context(), `SELECT count(*) FROM pg_trigger
		WHERE tgrelid = 'public.accounts'::regclass AND NOT tgisinternal AND tgtype & (4 | 8 | 16) <> 0`).Scan(&perStatement); err != nil || perStatement != 0 {
		t.Fatalf("%d triggers still fire on INSERT, UPDATE or DELETE (%v)", perStatement, err)
	}

	if err := trigger.Remove(t.Context(), f.db, "public", "accounts"); err != nil {
		t.Fatal(err)
	}
	if names := f.triggerNames(t, "public", "accounts"); len(names) != 0 {
		t.Fatalf("left after Remove: %q", names)
	}
	// RemoveAll also reaches tables where only helpers are left.
	f.exec(t, "DROP TRIGGER phoenix_kit_db_change_public_other ON other")
	if err := trigger.RemoveAll(t.Context(), f.db); err != nil {
		t.Fatal(err)
	}
	if names := f.triggerNames(t, "public", "other"); len(names) != 0 {
		t.Fatalf("left after RemoveAll: %q", names)
	}
	f.ensure(t, "public", "accounts")
	f.exec(t, "INSERT INTO accounts VALUES (4)", "TRUNCATE accounts")
	f.expect(t, "public.accounts:INSERT:4", "public.accounts:TRUNCATE:")
}

// Version 3 of this package installed two statement-level helpers named with
// PhoenixKit's prefix. They are not main triggers: not listed, silent but
// for TRUNCATE while the main trigger exists, and removed by Ensure,
// Remove and RemoveAll.
func TestEnsureCleansLegacyHelpers(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)", "CREATE TABLE u (id int)")
	f.ensure(t, "public", "t") // creates the functions
	f.ensure(t, "public", "u")
	legacy := func(table string) {
		t.Helper()
		main := "phoenix_kit_db_change_public_" + table
		f.exec(t, "DROP TRIGGER phoenixkitdb_truncate ON "+table,
			"DROP TRIGGER "+main+" ON "+table,
			"CREATE TRIGGER "+main+" AFTER INSERT OR UPDATE OR DELETE ON "+table+
				" FOR EACH ROW EXECUTE FUNCTION public.phoenixkitdb_notify_row('phoenix_kit_db_changes')",
			"CREATE TRIGGER "+main+"_before BEFORE INSERT OR UPDATE OR DELETE ON "+table+
				" FOR EACH STATEMENT EXECUTE FUNCTION public.phoenixkitdb_notify_statement('phoenix_kit_db_changes', 'row')",
			"CREATE TRIGGER "+main+"_after AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "+table+
				" FOR EACH STATEMENT EXECUTE FUNCTION public.phoenixkitdb_notify_statement('phoenix_kit_db_changes', 'row')")
	}
	legacy("t")
	legacy("u")
	f.exec(t, "INSERT INTO t VALUES (1)", "TRUNCATE t")
	f.expect(t, "public.t:INSERT:1", "public.t:TRUNCATE:")

	f.exec(t, "DROP TRIGGER IF EXISTS phoenix_kit_db_change_public_t ON t")
	f.exec(t, "INSERT INTO t VALUES (2)", "TRUNCATE t")
	f.expect(t)
	tables, err := trigger.List(t.Context(), f.db)
	if err != nil || len(tables) != 1 || tables[0].Name != "u" {
		t.Fatalf("List = %v, %v", tables, err)
	}

	f.ensure(t, "public", "u")
	if names := f.triggerNames(t, "public", "u"); len(names) != 2 || names[1] != "phoenixkitdb_truncate" {
		t.Fatalf("after Ensure: %q", names)
	}
	if err := trigger.RemoveAll(t.Context(), f.db); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"t", "u"} {
		if names := f.triggerNames(t, "public", tb); len(names) != 0 {
			t.Fatalf("%s after RemoveAll: %q", tb, names)
		}
	}
}

// phoenixKitListed counts the tables PhoenixKit's list_triggered_tables shows.
func phoenixKitListed(t *testing.T, f *trigFixture) int {
	t.Helper()
	var n int
	err := f.db.QueryRow(t.Context(), `SELECT count(*) FROM (SELECT event_object_schema, event_object_table
		FROM information_schema.triggers WHERE trigger_name LIKE 'phoenix_kit_db_change_%'
		GROUP BY 1, 2) x`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A second Ensure writes nothing to the catalog.
func TestEnsureIdempotent(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	const state = `SELECT string_agg(xmin::text || oid::text, ',' ORDER BY oid) FROM (
		SELECT xmin, oid FROM pg_proc WHERE proname LIKE 'phoenixkitdb%'
		UNION ALL SELECT xmin, oid FROM pg_trigger WHERE tgname LIKE 'phoenix_kit%') x`
	var before, after string
	f.ensure(t, "public", "t")
	if err := f.db.QueryRow(t.Context(), state).Scan(&before); err != nil {
		t.Fatal(err)
	}
	f.ensure(t, "public", "t")
	if err := f.db.QueryRow(t.Context(), state).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("catalog rewritten: %s -> %s", before, after)
	}
}

// Inside the caller's transaction Ensure uses a savepoint: rolling
// the transaction back leaves nothing installed.
func TestEnsureInCallerTx(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)")
	tx, err := f.db.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := trigger.Ensure(t.Context(), tx, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := trigger.Ensure(t.Context(), tx, "public", "missing"); err == nil {
		t.Fatal("no error for a missing table")
	}
	if _, err := tx.Exec(t.Context(), "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err) // the failed call rolled back only its savepoint
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if names := f.triggerNames(t, "public", "t"); len(names) != 0 {
		t.Fatalf("left after rollback: %q", names)
	}
}
