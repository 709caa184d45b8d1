package trigger

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// noTableError is returned inside Ensure's transaction when the
// table is not in the catalog.
type noTableError struct{ schema, table string }

func (e *noTableError) Error() string {
	return fmt.Sprintf("table %s does not exist", quoteTable(e.schema, e.table))
}

// hintSQL finds the schema and table whose names match schema and table
// ignoring case, the exact spellings first.
const hintSQL = `SELECT n.nspname, coalesce(c.relname, ''), current_user
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_class c
  ON c.relnamespace = n.oid AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'p')
WHERE lower(n.nspname) = lower($1)
ORDER BY n.nspname = $1 DESC, c.relname = $2 DESC NULLS LAST
LIMIT 1`

// hint returns what to do about err, an Ensure failure on
// schema.table, as a sentence to append ("" when it has none): the name
// that exists when only the case differs (names are case-sensitive), or
// the privilege that is missing. It asks the catalog through q, which the
// failed transaction no longer holds; a lookup that fails gives no hint.
func hint(ctx context.Context, q pgsql.Querier, schema, table string, err error) string {
	var pgErr *pgconn.PgError
	var noTable *noTableError
	missing := errors.As(err, &noTable) || errors.As(err, &pgErr) && (pgErr.Code == "3F000" || pgErr.Code == "42P01")
	denied := pgErr != nil && pgErr.Code == "42501"
	if !missing && !denied {
		return ""
	}
	var gotSchema, gotTable, role string
	if qerr := q.QueryRow(ctx, hintSQL, schema, table).Scan(&gotSchema, &gotTable, &role); qerr != nil {
		if !errors.Is(qerr, pgx.ErrNoRows) || !missing {
			return ""
		}
	}
	if denied {
		if strings.Contains(pgErr.Message, "schema") {
			return fmt.Sprintf("installing the notify function needs the CREATE privilege on schema %s (GRANT CREATE ON SCHEMA %s TO %s), or install it once as a role that has it",
				quoteIdent(schema), quoteIdent(schema), quoteIdent(role))
		}
		return fmt.Sprintf("installing a trigger needs the TRIGGER privilege on the table or its ownership (GRANT TRIGGER ON %s TO %s)",
			quoteTable(schema, table), quoteIdent(role))
	}
	switch {
	case gotSchema == "":
		return ""
	case gotSchema != schema && gotTable != "":
		return fmt.Sprintf("names are case-sensitive: schema %s exists, with table %s", quoteIdent(gotSchema), quoteTable(gotSchema, gotTable))
	case gotSchema != schema:
		return fmt.Sprintf("names are case-sensitive: schema %s exists", quoteIdent(gotSchema))
	case gotTable != "" && gotTable != table:
		return fmt.Sprintf("names are case-sensitive: table %s exists", quoteTable(gotSchema, gotTable))
	}
	return ""
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }
