package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Table names a table by schema and name, exactly as stored in the catalog
// (no case folding).
type Table struct {
	Schema, Name string
}

// ensureAttempts bounds the retries after losing a race with a concurrent
// creator that this package does not serialise (PhoenixKit, or a REPEATABLE
// READ caller whose snapshot hides the winner).
const ensureAttempts = 3

// EnsureTrigger installs the notify functions (if missing or outdated) and
// the triggers that make every committed write to schema.table send
// "schema.table:OP:row_id" on the channel. It is idempotent and changes
// nothing when everything is already in place; a trigger of the same name
// installed by PhoenixKit, or by this package in the other mode or an
// earlier version, is replaced, and helpers left without their main trigger
// are put back in order. It returns nil only when the wanted triggers are in
// place; otherwise an error (ErrTriggerConflict when a trigger it may not
// replace, such as one cloned onto a partition from its partitioned table,
// is in the way).
//
// schema and table are names as stored (case matters); a name the payload
// cannot carry (':' anywhere, '.' in the schema, empty) is rejected with
// ErrInvalidIdentifier before anything is sent. On a partitioned table the
// payloads name the partitioned table, not the partition a row landed in.
//
// The notify functions live in the table's schema. EnsureTrigger uses them
// only when they are owned by the installing role, a superuser or a role
// named with WithTrustedOwners; otherwise it fails with ErrUntrustedFunction
// and changes nothing. It needs CREATE on the schema (when a function is
// missing or outdated), and ownership of the table (DROP TRIGGER, when a
// trigger must be replaced) or at least the TRIGGER privilege on it.
//
// The work runs in one transaction (a savepoint if q is a pgx.Tx), so it
// either all happens or none of it does; q must be able to begin one
// (ErrNoTransaction otherwise). It is safe to call concurrently, from any
// number of goroutines and processes: callers are serialised by an advisory
// lock, whose wait only ctx bounds (it blocks no writer). Each wait for a
// table lock is bounded by WithLockTimeout (DefaultLockTimeout), so that
// writers of the table never queue behind it for longer; on expiry the error
// wraps ErrLockTimeout and nothing has changed. ctx bounds every statement.
func EnsureTrigger(ctx context.Context, q Querier, schema, table string, opts ...TriggerOption) error {
	if err := validateTable(schema, table); err != nil {
		return err
	}
	o := newTriggerOptions(opts)
	if err := validateChannel(o.channel); err != nil {
		return err
	}
	var err error
	for range ensureAttempts {
		err = inTx(ctx, q, func(tx Querier) error { return ensureTrigger(ctx, tx, schema, table, o) })
		if err == nil || !isCreateRace(err) {
			break
		}
	}
	if err != nil && isCreateRace(err) {
		err = fmt.Errorf("%w: still racing a concurrent creator after %d attempts: %w", ErrTriggerConflict, ensureAttempts, err)
	}
	if err != nil {
		if h := hint(ctx, q, schema, table, err); h != "" {
			err = fmt.Errorf("%w (%s)", err, h)
		}
		return triggerError("ensure trigger on "+quoteTable(schema, table), err)
	}
	return nil
}

// RemoveTrigger drops every trigger on schema.table that either side
// installed: names starting with "phoenix_kit_db_change_" (the main trigger,
// PhoenixKit's or ours, and helpers of earlier versions) or "phoenixkitdb_"
// (this package's helpers, also when PhoenixKit already dropped the main
// trigger). A missing table or trigger is not an error. The notify functions
// stay (other tables may use them). It runs in one transaction (q must be
// able to begin one: ErrNoTransaction otherwise), serialised with
// EnsureTrigger; the wait for the table lock is bounded as WithLockTimeout
// says (other options are ignored).
func RemoveTrigger(ctx context.Context, q Querier, schema, table string, opts ...TriggerOption) error {
	if err := validateStored(schema, table); err != nil {
		return err
	}
	o := newTriggerOptions(opts)
	err := inTx(ctx, q, func(tx Querier) error {
		return withInstallLock(ctx, tx, o, func() error { return dropTriggers(ctx, tx, schema, table) })
	})
	if err != nil {
		return triggerError("remove trigger on "+quoteTable(schema, table), err)
	}
	return nil
}

// RemoveAllTriggers drops every trigger either side installed, on every
// table: those of the tables ListTriggeredTables returns, and helpers left
// on tables whose main trigger is gone. It runs in one transaction (q must
// be able to begin one: ErrNoTransaction otherwise); each wait for a table
// lock is bounded as WithLockTimeout says (other options are ignored).
func RemoveAllTriggers(ctx context.Context, q Querier, opts ...TriggerOption) error {
	o := newTriggerOptions(opts)
	err := inTx(ctx, q, func(tx Querier) error {
		return withInstallLock(ctx, tx, o, func() error {
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

// HasTrigger reports whether schema.table has the trigger named as PhoenixKit
// names it ("phoenix_kit_db_change_<schema>_<table>", folded and truncated),
// whichever side installed it — the same test PhoenixKit makes before
// installing its own. On a partitioned table it finds the trigger
// EnsureTrigger installed on the table itself.
func HasTrigger(ctx context.Context, q Querier, schema, table string) (bool, error) {
	if err := validateStored(schema, table); err != nil {
		return false, err
	}
	var ok bool
	err := q.QueryRow(ctx, hasTriggerSQL, schema, table, mainTriggerName(schema, table)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("phoenixkitdb: has trigger on %s: %w", quoteTable(schema, table), err)
	}
	return ok, nil
}

// ListTriggeredTables returns, sorted, every table that has a main trigger
// (a trigger whose name starts with "phoenix_kit_db_change_"), whichever
// side installed it — the list PhoenixKit's list_triggered_tables shows. A
// table where only helpers are left (PhoenixKit's remove_trigger drops the
// main trigger alone) is not listed. It reads pg_trigger, so it also sees
// tables the current role has no privileges on. Triggers cloned onto
// partitions are listed once, on the partitioned table.
func ListTriggeredTables(ctx context.Context, q Querier) ([]Table, error) {
	ts, err := ourTriggers(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("phoenixkitdb: list triggered tables: %w", err)
	}
	return triggeredTables(ts, ourTrigger.isMain), nil
}

func validateStored(schema, table string) error {
	for _, n := range []string{schema, table} {
		if err := validateChannel(n); err != nil { // same rules: 1..63 bytes, no NUL
			return fmt.Errorf("%w: table %q.%q", ErrInvalidIdentifier, schema, table)
		}
	}
	return nil
}

func quoteTable(schema, table string) string {
	return pgx.Identifier{schema, table}.Sanitize()
}

// isCreateRace reports errors a concurrent creator or remover this package
// does not serialise can cause: duplicate trigger or function, a trigger
// dropped under us, a concurrently updated catalog row, a deadlock.
func isCreateRace(err error) bool {
	for _, code := range []string{"42710", "42723", "42704", "23505", "XX000", "40P01"} {
		if isSQLState(err, code) {
			return true
		}
	}
	return false
}

// triggerError wraps err for the caller: what was being done, and
// ErrLockTimeout when the cause was lock_timeout (lock_not_available).
func triggerError(what string, err error) error {
	if isSQLState(err, "55P03") {
		return fmt.Errorf("phoenixkitdb: %s: %w: %w", what, ErrLockTimeout, err)
	}
	return fmt.Errorf("phoenixkitdb: %s: %w", what, err)
}

func isSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
