package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// The table view reads rows of watched tables only: a name from the URL
// reaches SQL only after it was found among the watched tables (triggered,
// or published in WAL mode), and then
// quoted as an identifier; row ids are always parameters.

// rowsLimit is the size of the table view's page.
const rowsLimit = 50

// errNotWatched is returned for a table without a change trigger (in WAL
// mode: not in the publication), or one that does not exist: the table
// view never reads such a table.
var errNotWatched = errors.New("supervisor_example: not a watched table")

// tableRows is the JSON of GET /api/tables/{schema}/{table}/rows.
type tableRows struct {
	Schema  string   `json:"schema"`
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
	// Key is the column the trigger takes row ids from, as PhoenixKit does
	// ("uuid", else "id"), or "" when there is none: then a change can only
	// reload the page.
	Key   string            `json:"key"`
	Rows  []json.RawMessage `json:"rows"` // newest first, each a JSON object
	Limit int               `json:"limit"`
}

// rowReader reads the rows the table view shows. Its methods return
// errNotWatched for a table that has no change trigger.
type rowReader interface {
	// Watched reports whether schema.table has a change trigger.
	Watched(ctx context.Context, schema, table string) (bool, error)
	// Rows returns the first page, newest first.
	Rows(ctx context.Context, schema, table string) (tableRows, error)
	// Row returns the row whose key (as text) is id; found is false when
	// there is none (it was deleted, or id is not a valid key value).
	Row(ctx context.Context, schema, table, id string) (row json.RawMessage, found bool, err error)
}

// Watched reports whether schema.table is among the watched tables (with
// a trigger, or in the publication in WAL mode).
func (p poolTables) Watched(ctx context.Context, schema, table string) (bool, error) {
	ts, err := p.watched(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(ts, pgsql.Table{Schema: schema, Name: table}), nil
}

// columnsSQL lists a table's columns in order.
const columnsSQL = `
SELECT a.attname FROM pg_attribute a
 WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relname = $2)
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`

// shape returns the columns and key column of a watched table.
func (p poolTables) shape(ctx context.Context, schema, table string) (cols []string, key string, err error) {
	ok, err := p.Watched(ctx, schema, table)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", errNotWatched
	}
	rows, err := p.pool.Query(ctx, columnsSQL, schema, table)
	if err != nil {
		return nil, "", err
	}
	cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, "", err
	}
	for _, k := range []string{"uuid", "id"} {
		if slices.Contains(cols, k) {
			return cols, k, nil
		}
	}
	return cols, "", nil
}

// rowAlias names the row in the queries below; unusual so that it cannot
// be taken for one of the table's columns.
const rowAlias = "phoenixkitdb_row"

// Rows returns the first rowsLimit rows, newest first: by id for a table
// keyed by id, else by inserted_at or created_at when there is one, else
// by physical position (the best guess without either).
func (p poolTables) Rows(ctx context.Context, schema, table string) (tableRows, error) {
	cols, key, err := p.shape(ctx, schema, table)
	if err != nil {
		return tableRows{}, err
	}
	order := "ctid DESC"
	switch {
	case key == "id":
		order = `"id" DESC`
	case slices.Contains(cols, "inserted_at"):
		order = `"inserted_at" DESC`
	case slices.Contains(cols, "created_at"):
		order = `"created_at" DESC`
	}
	if key != "" && key != "id" {
		order += ", " + pgx.Identifier{key}.Sanitize() + " DESC"
	}
	q := fmt.Sprintf(`SELECT to_jsonb(%[1]s)::text FROM %[2]s %[1]s ORDER BY %[3]s LIMIT %[4]d`,
		rowAlias, pgx.Identifier{schema, table}.Sanitize(), order, rowsLimit)
	rows, err := p.pool.Query(ctx, q)
	if err != nil {
		return tableRows{}, err
	}
	objs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
		var s string
		err := r.Scan(&s)
		return json.RawMessage(s), err
	})
	if err != nil {
		return tableRows{}, err
	}
	if objs == nil {
		objs = []json.RawMessage{}
	}
	return tableRows{Schema: schema, Table: table, Columns: cols, Key: key, Rows: objs, Limit: rowsLimit}, nil
}

// Row returns one row by its key, compared as the trigger renders it.
func (p poolTables) Row(ctx context.Context, schema, table, id string) (json.RawMessage, bool, error) {
	_, key, err := p.shape(ctx, schema, table)
	if err != nil {
		return nil, false, err
	}
	if key == "" {
		return nil, false, nil
	}
	// The id is sent as text and PostgreSQL converts it to the key's type,
	// so the key's index serves the lookup.
	q := fmt.Sprintf(`SELECT to_jsonb(%[1]s)::text FROM %[2]s %[1]s WHERE %[3]s = $1 LIMIT 1`,
		rowAlias, pgx.Identifier{schema, table}.Sanitize(), pgx.Identifier{key}.Sanitize())
	var s string
	err = p.pool.QueryRow(ctx, q, id).Scan(&s)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case errors.As(err, &pgErr) && (pgErr.Code == "22P02" || pgErr.Code == "22003"): // not a value of the key's type
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return json.RawMessage(s), true, nil
}
