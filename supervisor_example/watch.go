package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// errBadWatch is returned for a -watch list that does not parse.
var errBadWatch = errors.New("supervisor_example: -watch wants schema.table[,schema.table...]")

// watchTable is one table the app installs a change trigger on.
type watchTable struct {
	Schema, Table string
	// Opts are passed to trigger.Ensure (PerStatement for a table without id).
	Opts []trigger.Option
}

func (w watchTable) String() string { return w.Schema + "." + w.Table }

// parseWatch parses -watch: comma-separated schema.table names as stored
// in the catalog (case matters, no quoting). Each name must have exactly
// one dot; an empty list is allowed.
func parseWatch(s string) ([]watchTable, error) {
	var out []watchTable
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		schema, table, ok := strings.Cut(part, ".")
		if !ok || schema == "" || table == "" || strings.Contains(table, ".") {
			return nil, fmt.Errorf("%w: %q", errBadWatch, part)
		}
		w := watchTable{Schema: schema, Table: table}
		if !slices.ContainsFunc(out, func(o watchTable) bool { return o.String() == w.String() }) {
			out = append(out, w)
		}
	}
	return out, nil
}

// installTriggers ensures the change trigger on each table and logs exactly
// what that created, replaced or dropped in the database (triggers on the
// table, trigger functions in its schema), or that everything was already
// in place. It stops at the first failure.
func installTriggers(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, tables []watchTable) error {
	for _, t := range tables {
		before, err := catalogObjects(ctx, pool, t)
		if err != nil {
			return fmt.Errorf("supervisor_example: trigger on %s: %w", t, err)
		}
		if err := trigger.Ensure(ctx, pool, t.Schema, t.Table, t.Opts...); err != nil {
			return fmt.Errorf("supervisor_example: trigger on %s: %w", t, err)
		}
		after, err := catalogObjects(ctx, pool, t)
		if err != nil {
			return fmt.Errorf("supervisor_example: trigger on %s: %w", t, err)
		}
		changes := diffObjects(before, after)
		if len(changes) == 0 {
			logger.Info("watch: change trigger already in place; nothing written", "table", t.String())
			continue
		}
		for _, c := range changes {
			logger.Info("watch: "+c.what, "table", t.String(), "object", c.object)
		}
	}
	return nil
}

// catalogSQL lists, with a fingerprint of each definition, the user
// triggers on table ($1.$2) and the trigger functions in its schema: what
// trigger.Ensure may create, replace or drop.
const catalogSQL = `
SELECT 'trigger ' || quote_ident(t.tgname) || ' ON ' || quote_ident($1) || '.' || quote_ident($2),
       md5(pg_get_triggerdef(t.oid))
  FROM pg_trigger t
 WHERE t.tgrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = $2)
   AND NOT t.tgisinternal
UNION ALL
SELECT 'function ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '()', md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND p.prorettype = 'trigger'::regtype`

// catalogObjects maps each object catalogSQL lists to its fingerprint.
func catalogObjects(ctx context.Context, pool *pgxpool.Pool, t watchTable) (map[string]string, error) {
	rows, err := pool.Query(ctx, catalogSQL, t.Schema, t.Table)
	if err != nil {
		return nil, err
	}
	objs := map[string]string{}
	var name, sum string
	_, err = pgx.ForEachRow(rows, []any{&name, &sum}, func() error {
		objs[name] = sum
		return nil
	})
	return objs, err
}

// objectChange is one line of installTriggers' log.
type objectChange struct{ what, object string }

// diffObjects lists, sorted by object, what changed from before to after.
func diffObjects(before, after map[string]string) []objectChange {
	var out []objectChange
	for obj, sum := range after {
		switch old, ok := before[obj]; {
		case !ok:
			out = append(out, objectChange{"created", obj})
		case old != sum:
			out = append(out, objectChange{"replaced", obj})
		}
	}
	for obj := range before {
		if _, ok := after[obj]; !ok {
			out = append(out, objectChange{"dropped", obj})
		}
	}
	slices.SortFunc(out, func(a, b objectChange) int { return strings.Compare(a.object, b.object) })
	return out
}
