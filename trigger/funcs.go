package trigger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// funcStateSQL describes the functions of this package's names in schema $1
// (names $2): their owner, whether that owner is trusted (the installing
// role, a superuser, or one of $3), and whether the function is exactly what
// CREATE FUNCTION below makes apart from its source (an invoker's-rights
// PL/pgSQL trigger function without SET clauses). pg_roles, unlike
// pg_authid, is readable by every role.
const funcStateSQL = `SELECT p.oid, p.proname::text, p.prosrc, r.rolname::text,
  r.rolname = current_user, r.rolname = current_user OR r.rolsuper OR r.rolname = ANY($3),
  NOT p.prosecdef AND p.proconfig IS NULL AND l.lanname = 'plpgsql'
    AND p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND p.proname = ANY($2) AND p.pronargs = 0`

// funcState is a row of funcStateSQL.
type funcState struct {
	oid                      uint32
	name, body, owner        string
	mine, trusted, invokerPL bool
}

// funcNames lists the functions Ensure installs.
func funcNames() []string { return []string{rowFuncName, stmtFuncName} }

func funcBody(name string) string {
	if name == rowFuncName {
		return rowFuncBody
	}
	return stmtFuncBody
}

// ensureFunctions makes sure the notify functions in schema are present,
// current and trusted, and returns their OIDs by name. A missing function is
// created with CREATE FUNCTION (never OR REPLACE: should another role create
// one in between, that fails instead of adopting it); an outdated trusted
// one is replaced in place, keeping its owner. A function owned by an
// untrusted role is never used nor touched: ErrUntrustedFunction.
func ensureFunctions(ctx context.Context, q pgsql.Querier, schema string, trusted []string) (map[string]uint32, error) {
	have, err := funcStates(ctx, q, schema, trusted)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, name := range funcNames() {
		s, ok := have[name]
		if ok && !s.trusted {
			return nil, fmt.Errorf("%w: %s is owned by role %q; drop it, or trust its owner with WithTrustedOwners",
				ErrUntrustedFunction, pgx.Identifier{schema, name}.Sanitize(), s.owner)
		}
		if ok && s.body == funcBody(name) && s.invokerPL {
			continue
		}
		verb := "CREATE FUNCTION "
		if ok {
			verb = "CREATE OR REPLACE FUNCTION "
		}
		if ok && !s.mine {
			// Only the owner (or a superuser) may replace it; say so rather
			// than let PostgreSQL answer "must be owner".
			var super bool
			if err := q.QueryRow(ctx, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
				return nil, err
			}
			if !super {
				return nil, fmt.Errorf("%s is from an earlier version and owned by role %q: run Ensure once as that role "+
					"(or a superuser) to update it", pgx.Identifier{schema, name}.Sanitize(), s.owner)
			}
		}
		sql := verb + pgx.Identifier{schema, name}.Sanitize() +
			"() RETURNS trigger LANGUAGE plpgsql AS $phoenixkitdb$" + funcBody(name) + "$phoenixkitdb$"
		if _, err := q.Exec(ctx, sql); err != nil {
			return nil, err
		}
		changed = true
	}
	if changed {
		// Read back what the triggers will call, by OID.
		if have, err = funcStates(ctx, q, schema, trusted); err != nil {
			return nil, err
		}
	}
	oids := make(map[string]uint32, 2)
	for _, name := range funcNames() {
		s, ok := have[name]
		if !ok || !s.trusted || s.body != funcBody(name) || !s.invokerPL {
			return nil, fmt.Errorf("%w: %s changed while being installed", ErrConflict,
				pgx.Identifier{schema, name}.Sanitize())
		}
		oids[name] = s.oid
	}
	return oids, nil
}

func funcStates(ctx context.Context, q pgsql.Querier, schema string, trusted []string) (map[string]funcState, error) {
	if trusted == nil {
		trusted = []string{} // a NULL array would make "= ANY" NULL, not false
	}
	rows, err := q.Query(ctx, funcStateSQL, schema, funcNames(), trusted)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (funcState, error) {
		var s funcState
		err := r.Scan(&s.oid, &s.name, &s.body, &s.owner, &s.mine, &s.trusted, &s.invokerPL)
		return s, err
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]funcState, len(list))
	for _, s := range list {
		m[s.name] = s
	}
	return m, nil
}
