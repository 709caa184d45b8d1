package phoenixkitdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// installLockKey is the pg_advisory_xact_lock key that serialises this
// package's installers across the database ("phxkitdb" in ASCII).
const installLockKey int64 = 0x7068786b69746462

// Catalog queries go to pg_trigger, not information_schema.triggers, which
// hides tables the current role has no privileges on.
const (
	hasTriggerSQL = `SELECT EXISTS (
  SELECT 1 FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3 AND NOT t.tgisinternal)`

	// ourTriggersSQL lists, per table, the triggers either side installed:
	// PhoenixKit's prefix ($1) or this package's helper prefix ($2).
	// Triggers cloned onto partitions (tgparentid <> 0) belong to the
	// partitioned table's trigger and are left out.
	ourTriggersSQL = `SELECT n.nspname::text, c.relname::text, t.tgname::text, p.proname::text, t.tgargs
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
WHERE NOT t.tgisinternal AND t.tgparentid = 0
  AND (pg_catalog.starts_with(t.tgname, $1) OR pg_catalog.starts_with(t.tgname, $2))
ORDER BY 1, 2, 3`

	tableOIDSQL = `SELECT c.oid FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

	// Triggers cloned from a partitioned parent (tgparentid <> 0) belong to
	// the parent's trigger and cannot be dropped on their own.
	tableTriggersSQL = `SELECT t.tgname::text, t.tgtype, p.proname::text, pn.nspname::text, t.tgargs,
  t.tgqual IS NULL AND t.tgattr::text = '' AND t.tgconstraint = 0
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgparentid = 0
  AND (pg_catalog.starts_with(t.tgname, $2) OR pg_catalog.starts_with(t.tgname, $3))`

	funcSourcesSQL = `SELECT p.proname::text, p.prosrc FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND p.proname = ANY($2) AND p.pronargs = 0`
)

func lockInstallers(ctx context.Context, q Querier) error {
	_, err := q.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", installLockKey)
	return err
}

// existingTrigger is a row of tableTriggersSQL.
type existingTrigger struct {
	name, fn, fnSchema string
	tgtype             int16
	args               []byte
	plain              bool
}

func (e existingTrigger) matches(s triggerSpec, schema string) bool {
	var want []byte
	for _, a := range s.args {
		want = append(append(want, a...), 0)
	}
	return e.plain && e.tgtype == s.tgtype && e.fn == s.fn && e.fnSchema == schema && bytes.Equal(e.args, want)
}

func ensureTrigger(ctx context.Context, q Querier, schema, table string, o triggerOptions) error {
	if err := lockInstallers(ctx, q); err != nil {
		return err
	}
	if err := ensureFunctions(ctx, q, schema); err != nil {
		return err
	}
	var relid uint32
	if err := q.QueryRow(ctx, tableOIDSQL, schema, table).Scan(&relid); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("table %s does not exist", quoteTable(schema, table))
		}
		return err
	}
	existing, err := tableTriggers(ctx, q, relid)
	if err != nil {
		return err
	}
	want := wantedTriggers(schema, table, o)
	qt := quoteTable(schema, table)
	var create []triggerSpec
	for _, s := range want {
		i := slices.IndexFunc(existing, func(e existingTrigger) bool { return e.name == s.name })
		if i >= 0 && existing[i].matches(s, schema) {
			existing = slices.Delete(existing, i, i+1)
			continue
		}
		create = append(create, s)
	}
	// Whatever is left is from the other mode, from PhoenixKit, from an
	// earlier version of this package, or outdated.
	for _, e := range existing {
		if _, err := q.Exec(ctx, "DROP TRIGGER "+pgx.Identifier{e.name}.Sanitize()+" ON "+qt); err != nil {
			return err
		}
	}
	for _, s := range create {
		sql := "CREATE TRIGGER " + pgx.Identifier{s.name}.Sanitize() + " " + fmt.Sprintf(s.events(), qt) +
			" EXECUTE FUNCTION " + pgx.Identifier{schema, s.fn}.Sanitize() + "(" + quoteLiterals(s.args) + ")"
		if _, err := q.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

func tableTriggers(ctx context.Context, q Querier, relid uint32) ([]existingTrigger, error) {
	rows, err := q.Query(ctx, tableTriggersSQL, relid, triggerPrefix, helperPrefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (existingTrigger, error) {
		var e existingTrigger
		err := r.Scan(&e.name, &e.tgtype, &e.fn, &e.fnSchema, &e.args, &e.plain)
		return e, err
	})
}

// ensureFunctions (re)creates the notify functions in schema unless their
// source is already the current one, so repeated calls write nothing.
func ensureFunctions(ctx context.Context, q Querier, schema string) error {
	bodies := map[string]string{rowFuncName: rowFuncBody, stmtFuncName: stmtFuncBody}
	rows, err := q.Query(ctx, funcSourcesSQL, schema, []string{rowFuncName, stmtFuncName})
	if err != nil {
		return err
	}
	type src struct{ name, body string }
	have, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (src, error) {
		var s src
		err := r.Scan(&s.name, &s.body)
		return s, err
	})
	if err != nil {
		return err
	}
	for _, s := range have {
		if bodies[s.name] == s.body {
			delete(bodies, s.name)
		}
	}
	for _, name := range []string{rowFuncName, stmtFuncName} {
		body, ok := bodies[name]
		if !ok {
			continue
		}
		sql := "CREATE OR REPLACE FUNCTION " + pgx.Identifier{schema, name}.Sanitize() +
			"() RETURNS trigger LANGUAGE plpgsql AS $phoenixkitdb$" + body + "$phoenixkitdb$"
		if _, err := q.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

// dropTriggers drops every trigger either side installed on schema.table
// (main triggers, helpers, leftovers of earlier versions), if it exists.
func dropTriggers(ctx context.Context, q Querier, schema, table string) error {
	var relid uint32
	if err := q.QueryRow(ctx, tableOIDSQL, schema, table).Scan(&relid); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
	existing, err := tableTriggers(ctx, q, relid)
	if err != nil {
		return err
	}
	qt := quoteTable(schema, table)
	for _, e := range existing {
		if _, err := q.Exec(ctx, "DROP TRIGGER IF EXISTS "+pgx.Identifier{e.name}.Sanitize()+" ON "+qt); err != nil {
			return err
		}
	}
	return nil
}

// quoteLiterals renders trigger arguments as escape-string constants, so a
// quote or backslash in a channel name cannot end the literal.
func quoteLiterals(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, `\`, `\\`)
		out[i] = "E'" + strings.ReplaceAll(a, "'", "''") + "'"
	}
	return strings.Join(out, ", ")
}

// ourTrigger is a row of ourTriggersSQL.
type ourTrigger struct {
	schema, table, name, fn string
	args                    []byte
}

// isMain reports whether t is a table's main trigger, the one PhoenixKit
// looks for: named with PhoenixKit's prefix and not one of the helpers that
// version 3 of this package named that way ("<main>_before", "<main>_after",
// calling the statement function in its "row" mode).
func (t ourTrigger) isMain() bool {
	if !strings.HasPrefix(t.name, triggerPrefix) {
		return false
	}
	args := bytes.Split(t.args, []byte{0})
	return t.fn != stmtFuncName || len(args) < 2 || string(args[1]) != stmtModeLegacyRow
}

func ourTriggers(ctx context.Context, q Querier) ([]ourTrigger, error) {
	rows, err := q.Query(ctx, ourTriggersSQL, triggerPrefix, helperPrefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ourTrigger, error) {
		var t ourTrigger
		err := r.Scan(&t.schema, &t.table, &t.name, &t.fn, &t.args)
		return t, err
	})
}

// triggeredTables returns, sorted and without duplicates, the tables of the
// triggers for which keep is true.
func triggeredTables(ts []ourTrigger, keep func(ourTrigger) bool) []Table {
	tables := []Table{}
	for _, t := range ts {
		tb := Table{Schema: t.schema, Name: t.table}
		if keep(t) && (len(tables) == 0 || tables[len(tables)-1] != tb) {
			tables = append(tables, tb)
		}
	}
	return tables
}
