package shape

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// Column describes one column of a shape.
type Column struct {
	// Name is the column's name as PostgreSQL has it.
	Name string
	// OID is the column's type (pg_attribute.atttypid).
	OID uint32
	// Type is the type's name as format_type prints it ("bigint",
	// "text[]", "character varying(20)").
	Type string
	// DecodeOID is the built-in type whose rules pubsub.Row.Value applies
	// (a domain's base type, text for an enum), as pubsub.ColumnType has it.
	DecodeOID uint32

	// collation and enumLabels are what the where package needs.
	collation  string
	enumLabels []string
}

// tableInfo is what the catalog says about a table: its columns in table
// order (generated columns left out: pgoutput never sends them) and the
// columns of the key a change's row is identified by.
type tableInfo struct {
	schema, name string
	cols         []Column
	key          []string // key columns, in table order
	typeOf       map[string]string
}

// colIndex returns the position of column name, or -1.
func (ti *tableInfo) colIndex(name string) int {
	return slices.IndexFunc(ti.cols, func(c Column) bool { return c.Name == name })
}

// lookupTable reads schema.table's description and, with pub set, checks
// that publication pub streams the table (ErrNotPublished otherwise), in
// one round trip (more only for domain and array columns, see
// decodeOID). notify chooses the key as the NOTIFY trigger does (the
// "uuid" column, else "id"); otherwise the replica identity key is used
// as the WAL source does (the REPLICA IDENTITY USING INDEX columns, else
// the primary key, else, for REPLICA IDENTITY FULL, "uuid" or "id").
func lookupTable(ctx context.Context, pool *pgxpool.Pool, schema, table string, notify bool, pub string) (*tableInfo, error) {
	// Each statement finds the table by name itself, so that they go
	// together; an error names the first failing check, in this order.
	const relid = `(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))`
	b := &pgx.Batch{}
	b.Queue(`SELECT c.relreplident::text, (SELECT datcollate FROM pg_database WHERE datname = current_database())
		FROM pg_class c WHERE c.oid = `+relid, schema, table)
	b.Queue(`SELECT a.attname::text, a.atttypid, format_type(a.atttypid, a.atttypmod),
			coalesce(co.collname::text, ''),
			(SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid),
			t.typtype::text, t.typbasetype, t.typelem, t.typcategory::text
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attrelid = `+relid+` AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, schema, table)
	if !notify {
		b.Queue(`SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
			FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = `+relid+` AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END`,
			schema, table)
	}
	if pub != "" {
		b.Queue(`SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)`,
			pub, schema, table)
	}
	ti, raws, replident, idxKey, published, err := readCatalog(pool.SendBatch(ctx, b), schema, table, notify, pub != "")
	if err != nil {
		return nil, err
	}
	for i := range ti.cols {
		ti.cols[i].DecodeOID, err = decodeOID(ctx, pool, ti.cols[i].OID, raws[i].typtype, raws[i].base, raws[i].elem, raws[i].category)
		if err != nil {
			return nil, err
		}
	}
	if ti.key, err = keyColumns(ti, replident, notify, idxKey); err != nil {
		return nil, err
	}
	if pub != "" && !published {
		return nil, fmt.Errorf("%w: %s is not in publication %q, so its changes never arrive; add it with phoenixkitdb's EnsurePublication",
			ErrNotPublished, quoteTable(schema, table), pub)
	}
	return ti, nil
}

// rawType is what decodeOID needs of a column's type.
type rawType struct {
	typtype, category string
	base, elem        uint32
}

// readCatalog reads lookupTable's results from br and closes it.
func readCatalog(br pgx.BatchResults, schema, table string, notify, withPub bool) (ti *tableInfo, raws []rawType, replident string, idxKey []string, published bool, err error) {
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("shape: reading the catalog: %w", cerr)
		}
	}()
	var collate string
	err = br.QueryRow().Scan(&replident, &collate)
	if err == pgx.ErrNoRows {
		return nil, nil, "", nil, false, fmt.Errorf("%w: no table %s", ErrDefinition, quoteTable(schema, table))
	}
	if err != nil {
		return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
	}
	ti = &tableInfo{schema: schema, name: table, typeOf: map[string]string{}}
	for rows.Next() {
		var c Column
		var r rawType
		if err := rows.Scan(&c.Name, &c.OID, &c.Type, &c.collation, &c.enumLabels, &r.typtype, &r.base, &r.elem, &r.category); err != nil {
			rows.Close()
			return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
		}
		if c.collation == "default" {
			c.collation = collate
		}
		ti.cols = append(ti.cols, c)
		ti.typeOf[c.Name] = c.Type
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
	}
	if !notify {
		if err := br.QueryRow().Scan(&idxKey); err != nil {
			return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
		}
	}
	if withPub {
		if err := br.QueryRow().Scan(&published); err != nil {
			return nil, nil, "", nil, false, fmt.Errorf("shape: reading the catalog: %w", err)
		}
	}
	return ti, raws, replident, idxKey, published, nil
}

// decodeOID resolves a column type to the built-in type its text decodes
// as: an enum is text, a domain its base type, an array of either the
// array of the resolved element.
func decodeOID(ctx context.Context, pool *pgxpool.Pool, oid uint32, typtype string, base, elem uint32, category string) (uint32, error) {
	const textOID, textArrayOID = 25, 1009
	switch {
	case typtype == "e":
		return textOID, nil
	case typtype == "d":
		var t, cat string
		var b, e uint32
		if err := pool.QueryRow(ctx, `SELECT typtype::text, typbasetype, typelem, typcategory::text FROM pg_type WHERE oid = $1`, base).Scan(&t, &b, &e, &cat); err != nil {
			return 0, fmt.Errorf("shape: reading the catalog: %w", err)
		}
		return decodeOID(ctx, pool, base, t, b, e, cat)
	case category == "A" && elem != 0:
		var t, cat string
		var b, e uint32
		if err := pool.QueryRow(ctx, `SELECT typtype::text, typbasetype, typelem, typcategory::text FROM pg_type WHERE oid = $1`, elem).Scan(&t, &b, &e, &cat); err != nil {
			return 0, fmt.Errorf("shape: reading the catalog: %w", err)
		}
		resolved, err := decodeOID(ctx, pool, elem, t, b, e, cat)
		if err != nil || resolved == elem {
			return oid, err
		}
		if resolved == textOID {
			return textArrayOID, nil
		}
		var arr uint32
		if err := pool.QueryRow(ctx, `SELECT typarray FROM pg_type WHERE oid = $1`, resolved).Scan(&arr); err != nil {
			return 0, fmt.Errorf("shape: reading the catalog: %w", err)
		}
		return arr, nil
	}
	return oid, nil
}

// keyColumns chooses the columns that identify a row (see lookupTable);
// idxKey are the columns of the primary key or replica identity index.
func keyColumns(ti *tableInfo, replident string, notify bool, idxKey []string) ([]string, error) {
	byName := func(names ...string) []string {
		for _, n := range names {
			if ti.colIndex(n) >= 0 {
				return []string{n}
			}
		}
		return nil
	}
	if notify {
		if k := byName("uuid", "id"); k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("%w: table %s has neither a \"uuid\" nor an \"id\" column, which NOTIFY changes identify rows by",
			ErrDefinition, quoteTable(ti.schema, ti.name))
	}
	if replident == "n" {
		return nil, fmt.Errorf("%w: table %s has REPLICA IDENTITY NOTHING: its deletes cannot be followed", ErrDefinition, quoteTable(ti.schema, ti.name))
	}
	if len(idxKey) > 0 {
		return idxKey, nil
	}
	if replident == "f" {
		if k := byName("uuid", "id"); k != nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: table %s has no primary key or replica identity index to identify its rows by",
		ErrDefinition, quoteTable(ti.schema, ti.name))
}

// whereColumns returns the table's columns as the where package takes them.
func (ti *tableInfo) whereColumns() []where.Column {
	out := make([]where.Column, len(ti.cols))
	for i, c := range ti.cols {
		oid := c.DecodeOID
		if c.enumLabels != nil {
			oid = c.OID
		}
		out[i] = where.Column{Name: c.Name, OID: oid, Collation: c.collation, EnumLabels: c.enumLabels}
	}
	return out
}

// layoutOf returns the row layout of cols.
func layoutOf(cols []Column) (*pubsub.RowLayout, error) {
	ct := make([]pubsub.ColumnType, len(cols))
	for i, c := range cols {
		ct[i] = pubsub.ColumnType{Name: c.Name, OID: c.OID, DecodeOID: c.DecodeOID}
	}
	return pubsub.NewRowLayout(ct)
}

// quoteIdent quotes an identifier for SQL.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// quoteTable quotes schema.table for SQL.
func quoteTable(schema, table string) string { return pgx.Identifier{schema, table}.Sanitize() }
