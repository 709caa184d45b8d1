package trigger

import (
	"context"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// ensureAttempts bounds the retries after losing a race with a concurrent
// creator that this package does not serialise (PhoenixKit, or a REPEATABLE
// READ caller whose snapshot hides the winner).
const ensureAttempts = 3

// Ensure installs the notify functions (if missing or outdated) and
// the triggers that make every committed write to schema.table send
// "schema.table:OP:row_id" on the channel. It is idempotent and changes
// nothing when everything is already in place; a trigger of the same name
// installed by PhoenixKit, or by this package in the other mode or an
// earlier version, is replaced, and helpers left without their main trigger
// are put back in order. It returns nil only when the wanted triggers are in
// place; otherwise an error (ErrConflict when a trigger it may not
// replace, such as one cloned onto a partition from its partitioned table,
// is in the way).
//
// schema and table are names as stored (case matters); a name the payload
// cannot carry (':' anywhere, '.' in the schema, empty) is rejected with
// pgsql.ErrInvalidIdentifier before anything is sent. On a partitioned table the
// payloads name the partitioned table, not the partition a row landed in.
//
// The notify functions live in the table's schema. Ensure uses them
// only when they are owned by the installing role, a superuser or a role
// named with WithTrustedOwners; otherwise it fails with ErrUntrustedFunction
// and changes nothing. It needs CREATE on the schema (when a function is
// missing or outdated), and ownership of the table (DROP TRIGGER, when a
// trigger must be replaced) or at least the TRIGGER privilege on it.
//
// The work runs in one transaction (a savepoint if q is a pgx.Tx), so it
// either all happens or none of it does; q must be able to begin one
// (pgsql.ErrNoTransaction otherwise). It is safe to call concurrently, from any
// number of goroutines and processes: callers are serialised by an advisory
// lock, whose wait only ctx bounds (it blocks no writer). Each wait for a
// table lock is bounded by WithLockTimeout (DefaultLockTimeout), so that
// writers of the table never queue behind it for longer; on expiry the error
// wraps pgsql.ErrLockTimeout and nothing has changed. ctx bounds every statement.
func Ensure(ctx context.Context, q pgsql.Querier, schema, table string, opts ...Option) error {
	if err := validateTable(schema, table); err != nil {
		return err
	}
	o := newOptions(opts)
	if err := validateChannel(o.channel); err != nil {
		return err
	}
	var err error
	for range ensureAttempts {
		err = ddl.InTx(ctx, q, func(tx pgsql.Querier) error { return ensureTrigger(ctx, tx, schema, table, o) })
		if err == nil || !isCreateRace(err) {
			break
		}
	}
	if err != nil && isCreateRace(err) {
		err = fmt.Errorf("%w: still racing a concurrent creator after %d attempts: %w", ErrConflict, ensureAttempts, err)
	}
	if err != nil {
		if h := hint(ctx, q, schema, table, err); h != "" {
			err = fmt.Errorf("%w (%s)", err, h)
		}
		return triggerError("ensure trigger on "+quoteTable(schema, table), err)
	}
	return nil
}

// Remove drops every trigger on schema.table that either side
// installed: names starting with "phoenix_kit_db_change_" (the main trigger,
// PhoenixKit's or ours, and helpers of earlier versions) or "phoenixkitdb_"
// (this package's helpers, also when PhoenixKit already dropped the main
// trigger). A missing table or trigger is not an error. The notify functions
// stay (other tables may use them). It runs in one transaction (q must be
// able to begin one: pgsql.ErrNoTransaction otherwise), serialised with
// Ensure; the wait for the table lock is bounded as WithLockTimeout
// says (other options are ignored).
func Remove(ctx context.Context, q pgsql.Querier, schema, table string, opts ...Option) error {
	if err := validateStored(schema, table); err != nil {
		return err
	}
	o := newOptions(opts)
	err := ddl.InTx(ctx, q, func(tx pgsql.Querier) error {
		return ddl.WithInstallLock(ctx, tx, o.lockTimeout, func() error { return dropTriggers(ctx, tx, schema, table) })
	})
	if err != nil {
		return triggerError("remove trigger on "+quoteTable(schema, table), err)
	}
	return nil
}

// RemoveAll drops every trigger either side installed, on every
// table: those of the tables List returns, and helpers left
// on tables whose main trigger is gone. It runs in one transaction (q must
// be able to begin one: pgsql.ErrNoTransaction otherwise); each wait for a table
// lock is bounded as WithLockTimeout says (other options are ignored).
func RemoveAll(ctx context.Context, q pgsql.Querier, opts ...Option) error {
	o := newOptions(opts)
	err := ddl.InTx(ctx, q, func(tx pgsql.Querier) error {
		return ddl.WithInstallLock(ctx, tx, o.lockTimeout, func() error {
			ts, err := ourTriggers(ctx, tx)
			if err != nil {
				return err
			}
			for _, t := range triggeredTables(ts, func(ourTrigger) bool { return true }) {
				if err := dropTriggers(ctx, tx, t.Schema, t.Name); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return triggerError("remove all triggers", err)
	}
	return nil
}

// Has reports whether schema.table has the trigger named as PhoenixKit
// names it ("phoenix_kit_db_change_<schema>_<table>", folded and truncated),
// whichever side installed it — the same test PhoenixKit makes before
// installing its own. On a partitioned table it finds the trigger
// Ensure installed on the table itself.
func Has(ctx context.Context, q pgsql.Querier, schema, table string) (bool, error) {
	if err := validateStored(schema, table); err != nil {
		return false, err
	}
	var ok bool
	err := q.QueryRow(ctx, hasTriggerSQL, schema, table, mainTriggerName(schema, table)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("trigger: has trigger on %s: %w", quoteTable(schema, table), err)
	}
	return ok, nil
}

// List returns, sorted, every table that has a main trigger
// (a trigger whose name starts with "phoenix_kit_db_change_"), whichever
// side installed it — the list PhoenixKit's list_triggered_tables shows. A
// table where only helpers are left (PhoenixKit's remove_trigger drops the
// main trigger alone) is not listed. It reads pg_trigger, so it also sees
// tables the current role has no privileges on. Triggers cloned onto
// partitions are listed once, on the partitioned table.
func List(ctx context.Context, q pgsql.Querier) ([]pgsql.Table, error) {
	ts, err := ourTriggers(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("trigger: list: %w", err)
	}
	return triggeredTables(ts, ourTrigger.isMain), nil
}

func validateStored(schema, table string) error {
	return pgsql.Table{Schema: schema, Name: table}.Check()
}

func quoteTable(schema, table string) string {
	return pgsql.Table{Schema: schema, Name: table}.Quoted()
}

// isCreateRace reports errors a concurrent creator or remover this package
// does not serialise can cause: duplicate trigger or function, a trigger
// dropped under us, a concurrently updated catalog row, a deadlock.
func isCreateRace(err error) bool {
	for _, code := range []string{"42710", "42723", "42704", "23505", "XX000", "40P01"} {
		if ddl.IsSQLState(err, code) {
			return true
		}
	}
	return false
}

// triggerError wraps err for the caller: what was being done, and
// pgsql.ErrLockTimeout when the cause was lock_timeout.
func triggerError(what string, err error) error { return ddl.Error("trigger", what, err) }
