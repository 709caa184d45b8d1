package oracle

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Scope is what a publication streams: which tables, and under which
// name pgoutput reports each one's rows. test_decoding reports every
// table of the database under its own name, so the oracle's output is
// filtered and renamed through a Scope before it is compared.
type Scope struct {
	// as maps a table to the table its row changes are reported as: itself,
	// or with publish_via_partition_root its topmost published ancestor.
	as map[Relation]Relation
}

// LoadScope reads publication's tables from the catalog. Load it after
// the workload: tables created later are not in it.
func LoadScope(ctx context.Context, conn *pgx.Conn, publication string) (*Scope, error) {
	// pg_publication_tables lists the leaves of a published partitioned
	// table, or its root with publish_via_partition_root; a table's rows
	// are reported as its topmost ancestor (itself included) in that list.
	// pg_partition_ancestors has no rows for a table outside a partition
	// tree, hence the table itself at ordinality 0.
	rows, err := conn.Query(ctx, `
		WITH pub AS (
			SELECT c.oid FROM pg_publication_tables t
			JOIN pg_namespace n ON n.nspname = t.schemaname
			JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
			WHERE t.pubname = $1)
		SELECT n.nspname::text, c.relname::text, rn.nspname::text, rc.relname::text
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL (
			SELECT a.relid FROM (
				SELECT c.oid, 0::bigint
				UNION ALL
				SELECT * FROM pg_partition_ancestors(c.oid) WITH ORDINALITY) AS a(relid, ord)
			WHERE a.relid IN (SELECT oid FROM pub)
			ORDER BY a.ord DESC LIMIT 1) r
		JOIN pg_class rc ON rc.oid = r.relid
		JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE c.relkind IN ('r', 'p')`, publication)
	if err != nil {
		return nil, fmt.Errorf("oracle: publication %q: %w", publication, err)
	}
	s := &Scope{as: map[Relation]Relation{}}
	for rows.Next() {
		var from, to Relation
		if err := rows.Scan(&from.Schema, &from.Table, &to.Schema, &to.Table); err != nil {
			rows.Close()
			return nil, fmt.Errorf("oracle: publication %q: %w", publication, err)
		}
		s.as[from] = to
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("oracle: publication %q: %w", publication, err)
	}
	return s, nil
}

// NewScope returns a scope from a table -> reported-as map, for callers
// that know it without a catalog (tests of the comparator).
func NewScope(as map[Relation]Relation) *Scope {
	s := &Scope{as: make(map[Relation]Relation, len(as))}
	for k, v := range as {
		s.as[k] = v
	}
	return s
}

// RowsAs returns the table rel's row changes are reported as, and false
// when the publication does not stream rel.
func (s *Scope) RowsAs(rel Relation) (Relation, bool) {
	to, ok := s.as[rel]
	return to, ok
}

// Truncates reports whether a TRUNCATE of rel is streamed: pgoutput
// leaves out a partition whose rows are reported as an ancestor's.
func (s *Scope) Truncates(rel Relation) bool {
	to, ok := s.as[rel]
	return ok && to == rel
}
