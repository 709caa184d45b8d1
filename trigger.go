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

// TriggerOption configures EnsureTrigger.
type TriggerOption func(*triggerOptions)

type triggerOptions struct {
	perStatement bool
	channel      string
}

// PerStatement installs one statement-level trigger instead of the row
// trigger: every INSERT, UPDATE, DELETE or TRUNCATE statement sends
// "schema.table:OP:" without a row id. PostgreSQL folds identical payloads
// within a transaction, so a bulk write costs one notification instead of one
// per row. Calling EnsureTrigger without it later switches the table back.
func PerStatement() TriggerOption {
	return func(o *triggerOptions) { o.perStatement = true }
}

// WithChannel sets the channel the trigger notifies on; the default is
// DefaultChannel, the one PhoenixKit listens on. The name is used exactly
// (LISTEN must quote a mixed-case name); it must be 1 to 63 bytes.
func WithChannel(name string) TriggerOption {
	return func(o *triggerOptions) { o.channel = name }
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
// are put back in order.
// schema and table are names as stored (case matters); a name the payload
// cannot carry (':' anywhere, '.' in the schema, empty) is rejected with
// ErrInvalidIdentifier before anything is sent.
//
// The work runs in one transaction (a savepoint if q is a pgx.Tx), so it
// either all happens or none of it does. Concurrent callers are serialised
// by an advisory lock; one that still loses a race to create the same
// trigger gets nil. ctx bounds every statement.
func EnsureTrigger(ctx context.Context, q Querier, schema, table string, opts ...TriggerOption) error {
	if err := validateTable(schema, table); err != nil {
		return err
	}
	o := triggerOptions{channel: DefaultChannel}
	for _, opt := range opts {
		opt(&o)
	}
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
	if err != nil && !isSQLState(err, "42710") {
		return fmt.Errorf("phoenixkitdb: ensure trigger on %s: %w", quoteTable(schema, table), err)
	}
	return nil
}

// RemoveTrigger drops every trigger on schema.table that either side
// installed: names starting with "phoenix_kit_db_change_" (the main trigger,
// PhoenixKit's or ours, and helpers of earlier versions) or "phoenixkitdb_"
// (this package's helpers, also when PhoenixKit already dropped the main
// trigger). A missing table or trigger is not an error. The notify functions
// stay (other tables may use them). Runs in one transaction when q can begin
// one.
func RemoveTrigger(ctx context.Context, q Querier, schema, table string) error {
	if err := validateStored(schema, table); err != nil {
		return err
	}
	err := inTx(ctx, q, func(tx Querier) error {
		if err := lockInstallers(ctx, tx); err != nil {
			return err
		}
		return dropTriggers(ctx, tx, schema, table)
	})
	if err != nil {
		return fmt.Errorf("phoenixkitdb: remove trigger on %s: %w", quoteTable(schema, table), err)
	}
	return nil
}

// RemoveAllTriggers drops every trigger either side installed, on every
// table: those of the tables ListTriggeredTables returns, and helpers left
// on tables whose main trigger is gone. It runs in one transaction when q
// can begin one.
func RemoveAllTriggers(ctx context.Context, q Querier) error {
	err := inTx(ctx, q, func(tx Querier) error {
		if err := lockInstallers(ctx, tx); err != nil {
			return err
		}
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
	if err != nil {
		return fmt.Errorf("phoenixkitdb: remove all triggers: %w", err)
	}
	return nil
}

// HasTrigger reports whether schema.table has the trigger named as PhoenixKit
// names it ("phoenix_kit_db_change_<schema>_<table>", folded and truncated),
// whichever side installed it — the same test PhoenixKit makes before
// installing its own.
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

// isCreateRace reports errors a concurrent creator can cause: duplicate
// trigger or function, a concurrently updated catalog row, a deadlock.
func isCreateRace(err error) bool {
	return isSQLState(err, "42710") || isSQLState(err, "23505") ||
		isSQLState(err, "XX000") || isSQLState(err, "40P01")
}

func isSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
