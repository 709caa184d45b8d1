package trigger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

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

	tableOIDSQL = `SELECT c.oid, c.relkind = 'p' FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

	// clonedTriggersSQL finds triggers of either side that PostgreSQL cloned
	// onto the partition $1 from an ancestor: they cannot be dropped or
	// replaced on the partition, and they already notify for its rows.
	clonedTriggersSQL = `SELECT t.tgname::text, pn.nspname::text, pc.relname::text
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_trigger pt ON pt.oid = t.tgparentid
JOIN pg_catalog.pg_class pc ON pc.oid = pt.tgrelid
JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
WHERE t.tgrelid = $1 AND t.tgparentid <> 0
  AND (pg_catalog.starts_with(t.tgname, $2) OR pg_catalog.starts_with(t.tgname, $3))
ORDER BY 1`

	// Triggers cloned from a partitioned parent (tgparentid <> 0) belong to
	// the parent's trigger and cannot be dropped on their own.
	tableTriggersSQL = `SELECT t.tgname::text, t.tgtype, t.tgfoid, t.tgargs,
  t.tgqual IS NULL AND t.tgattr::text = '' AND t.tgconstraint = 0
FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgparentid = 0
  AND (pg_catalog.starts_with(t.tgname, $2) OR pg_catalog.starts_with(t.tgname, $3))`
)

// existingTrigger is a row of tableTriggersSQL.
type existingTrigger struct {
	name   string
	tgtype int16
	fn     uint32 // the function's OID
	args   []byte
	plain  bool
}

// matches reports whether e is s calling the trusted function of OID fn.
// Functions are compared by OID, not by name: a same-named function in
// another schema, or one recreated by another role, is not ours.
func (e existingTrigger) matches(s triggerSpec, fn uint32) bool {
	var want []byte
	for _, a := range s.args {
		want = append(append(want, a...), 0)
	}
	return e.plain && e.tgtype == s.tgtype && e.fn == fn && bytes.Equal(e.args, want)
}

// ensureTrigger does Ensure's work inside the transaction q.
func ensureTrigger(ctx context.Context, q pgsql.Querier, schema, table string, o options) error {
	return ddl.WithInstallLock(ctx, q, o.lockTimeout, func() error {
		fns, err := ensureFunctions(ctx, q, schema, o.trusted)
		if err != nil {
			return err
		}
		var relid uint32
		var partitioned bool
		if err := q.QueryRow(ctx, tableOIDSQL, schema, table).Scan(&relid, &partitioned); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return &noTableError{schema, table}
			}
			return err
		}
		if err := checkCloned(ctx, q, relid); err != nil {
			return err
		}
		want := wantedTriggers(schema, table, partitioned, o)
		existing, err := tableTriggers(ctx, q, relid)
		if err != nil {
			return err
		}
		drop, create := planTriggers(existing, want, fns)
		if len(drop) == 0 && len(create) == 0 {
			return nil
		}
		qt := quoteTable(schema, table)
		// Whatever is dropped is from the other mode, from PhoenixKit, from
		// an earlier version of this package, or outdated.
		for _, name := range drop {
			if _, err := q.Exec(ctx, "DROP TRIGGER "+pgx.Identifier{name}.Sanitize()+" ON "+qt); err != nil {
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
		// Never report success on faith: read back what is now installed.
		existing, err = tableTriggers(ctx, q, relid)
		if err != nil {
			return err
		}
		if drop, create := planTriggers(existing, want, fns); len(drop) != 0 || len(create) != 0 {
			return fmt.Errorf("%w: after installing, %d trigger(s) to drop and %d to create remain on %s",
				ErrConflict, len(drop), len(create), qt)
		}
		return nil
	})
}

// planTriggers returns the existing triggers to drop and the wanted ones to
// create so that exactly want is installed, calling the functions fns.
func planTriggers(existing []existingTrigger, want []triggerSpec, fns map[string]uint32) (drop []string, create []triggerSpec) {
	existing = slices.Clone(existing)
	for _, s := range want {
		i := slices.IndexFunc(existing, func(e existingTrigger) bool { return e.name == s.name })
		if i >= 0 && existing[i].matches(s, fns[s.fn]) {
			existing = slices.Delete(existing, i, i+1)
			continue
		}
		create = append(create, s)
	}
	for _, e := range existing {
		drop = append(drop, e.name)
	}
	return drop, create
}

// checkCloned fails with ErrConflict when the table is a partition
// that already has a trigger of either side cloned from its partitioned
// table: that trigger notifies for its rows already (a second one would
// notify twice), and only the partitioned table's trigger can change it.
func checkCloned(ctx context.Context, q pgsql.Querier, relid uint32) error {
	var name, pschema, ptable string
	err := q.QueryRow(ctx, clonedTriggersSQL, relid, triggerPrefix, helperPrefix).Scan(&name, &pschema, &ptable)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: the table is a partition of %s, whose trigger %s is cloned onto it; "+
		"call trigger.Ensure (or trigger.Remove) on %s instead", ErrConflict,
		quoteTable(pschema, ptable), pgx.Identifier{name}.Sanitize(), quoteTable(pschema, ptable))
}

func tableTriggers(ctx context.Context, q pgsql.Querier, relid uint32) ([]existingTrigger, error) {
	rows, err := q.Query(ctx, tableTriggersSQL, relid, triggerPrefix, helperPrefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (existingTrigger, error) {
		var e existingTrigger
		err := r.Scan(&e.name, &e.tgtype, &e.fn, &e.args, &e.plain)
		return e, err
	})
}

// dropTriggers drops every trigger either side installed on schema.table
// (main triggers, helpers, leftovers of earlier versions), if it exists.
func dropTriggers(ctx context.Context, q pgsql.Querier, schema, table string) error {
	var relid uint32
	var partitioned bool
	if err := q.QueryRow(ctx, tableOIDSQL, schema, table).Scan(&relid, &partitioned); err != nil {
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

func ourTriggers(ctx context.Context, q pgsql.Querier) ([]ourTrigger, error) {
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
func triggeredTables(ts []ourTrigger, keep func(ourTrigger) bool) []pgsql.Table {
	tables := []pgsql.Table{}
	for _, t := range ts {
		tb := pgsql.Table{Schema: t.schema, Name: t.table}
		if keep(t) && (len(tables) == 0 || tables[len(tables)-1] != tb) {
			tables = append(tables, tb)
		}
	}
	return tables
}
