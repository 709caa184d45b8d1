package trigger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Many callers switch one table between modes at once, others remove its
// triggers, and PhoenixKit-style creators (whom the advisory lock does not
// serialise) create their trigger whenever they find none. Every call of
// ours must succeed, and a final call must leave exactly one working set.
// Without the advisory lock, callers act on what they read before another
// committed (dropping triggers that are gone, creating ones that exist) and
// run out of retries: this test fails.
func TestEnsureConcurrent(t *testing.T) {
	const (
		installers = 16
		removers   = 2
		creators   = 3
		rounds     = 6
	)
	f := setupTriggers(t)
	f.exec(t, "CREATE SCHEMA s", "CREATE TABLE s.t (id int)", "CREATE TABLE s.u (id int)")
	ctx := t.Context()
	start := make(chan struct{})
	var ours sync.WaitGroup
	errs := make(chan error, (installers+removers)*rounds)
	for i := range installers + removers {
		conn := connect(t, f.url)
		ours.Add(1)
		go func() {
			defer ours.Done()
			<-start
			for r := range rounds {
				var err error
				switch {
				case i >= installers:
					err = trigger.Remove(ctx, conn, "s", "t")
				case (i+r)%2 == 0:
					err = trigger.Ensure(ctx, conn, "s", "t")
				case i%4 == 1:
					err = trigger.Ensure(ctx, conn, "s", "u", trigger.PerStatement())
				default:
					err = trigger.Ensure(ctx, conn, "s", "t", trigger.PerStatement())
				}
				errs <- err
			}
		}()
	}
	var done atomic.Bool
	var pk sync.WaitGroup
	var pkCreated atomic.Int64
	for range creators {
		conn := connect(t, f.url)
		pk.Add(1)
		go func() {
			defer pk.Done()
			<-start
			for !done.Load() {
				if phoenixKitEnsureOnce(ctx, conn, "s", "t") {
					pkCreated.Add(1)
				}
			}
		}()
	}
	close(start)
	ours.Wait()
	done.Store(true)
	pk.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			t.Error(err)
		}
	}
	t.Logf("%d calls of ours failed; PhoenixKit-style creators created %d triggers", failed, pkCreated.Load())

	for _, tb := range []string{"t", "u"} {
		f.ensure(t, "s", tb)
		if names := f.triggerNames(t, "s", tb); len(names) != 2 {
			t.Errorf("%s: %q", tb, names)
		}
	}
	f.exec(t, "INSERT INTO s.t VALUES (1)", "INSERT INTO s.u VALUES (2)", "TRUNCATE s.t")
	f.expect(t, "s.t:INSERT:1", "s.u:INSERT:2", "s.t:TRUNCATE:")
}

// phoenixKitEnsureOnce does what PhoenixKit's ensure_trigger does, with
// autocommit statements and no lock of ours: replace its function, then
// create its trigger unless information_schema shows one. Errors (it loses
// races by design) are ignored; it reports whether it created the trigger.
func phoenixKitEnsureOnce(ctx context.Context, conn *pgx.Conn, schema, table string) bool {
	if _, err := conn.Exec(ctx, phoenixKitFunction); err != nil {
		return false
	}
	name := "phoenix_kit_db_change_" + schema + "_" + table
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.triggers WHERE trigger_name = $1", name).Scan(&n); err != nil || n > 0 {
		return false
	}
	_, err := conn.Exec(ctx, "CREATE TRIGGER "+name+" AFTER INSERT OR UPDATE OR DELETE ON "+qt(schema, table)+
		" FOR EACH ROW EXECUTE FUNCTION phoenix_kit_notify_table_change()")
	return err == nil
}
