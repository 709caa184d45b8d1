package pgsql

import "github.com/jackc/pgx/v5"

// Table names a table by schema and name, exactly as stored in the catalog
// (no case folding).
type Table struct {
	Schema, Name string
}

// String returns "schema.name" as stored, unquoted, for messages.
func (t Table) String() string { return t.Schema + "." + t.Name }

// Quoted returns the table's name quoted for SQL: "schema"."name".
func (t Table) Quoted() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }
