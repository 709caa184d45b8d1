package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// ErrNoReplicaIdentity is returned (wrapped, naming the tables) by
// EnsurePublicationWith for a table it would add to a publication that
// publishes updates or deletes while the table has no usable replica
// identity: PostgreSQL would then refuse every UPDATE and DELETE on it
// (SQLSTATE 55000, "cannot update table ... because it does not have a
// replica identity and publishes updates"). Add a primary key, run ALTER
// TABLE ... REPLICA IDENTITY FULL (or pass SetReplicaIdentityFull), or
// publish inserts only (PublishInsertsOnly).
var ErrNoReplicaIdentity = errors.New("replication: table has no replica identity")

// lackingIdentitySQL returns the tables, among the given ones and the
// tables that publishing them publishes too (the partitions of a
// partitioned table, the children of an inherited one), that hold rows and
// no usable replica identity, the way PostgreSQL decides it
// (RelationGetReplicaIndex): REPLICA IDENTITY FULL; DEFAULT with a primary
// key; or USING INDEX with that index; the index valid, unique, immediate
// and without a predicate. A partitioned table itself holds no rows. Tables
// that do not exist are left to the statement that adds them to fail.
const lackingIdentitySQL = `
WITH RECURSIVE tree(oid) AS (
	SELECT rc.oid
	FROM unnest($1::text[], $2::text[]) AS r(schema_name, table_name)
	JOIN pg_catalog.pg_namespace rn ON rn.nspname = r.schema_name
	JOIN pg_catalog.pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.table_name
	UNION
	SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree ON i.inhparent = tree.oid
)
SELECT n.nspname, c.relname
FROM tree
JOIN pg_catalog.pg_class c ON c.oid = tree.oid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT (
	c.relreplident = 'f'
	OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i
		WHERE i.indrelid = c.oid AND i.indisvalid AND i.indisunique AND i.indimmediate AND i.indpred IS NULL
		AND CASE c.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END))
ORDER BY 1, 2`

// requireReplicaIdentity refuses tables (and the tables publishing them
// publishes too) without a usable replica identity with an error wrapping
// ErrNoReplicaIdentity, or, when full is set, gives each of them REPLICA
// IDENTITY FULL.
func requireReplicaIdentity(ctx context.Context, q pgsql.Querier, publication string, tables []pgsql.Table, full bool) error {
	schemas := make([]string, len(tables))
	names := make([]string, len(tables))
	for i, t := range tables {
		schemas[i], names[i] = t.Schema, t.Name
	}
	rows, err := q.Query(ctx, lackingIdentitySQL, schemas, names)
	if err != nil {
		return err
	}
	lacking, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgsql.Table, error) {
		var t pgsql.Table
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
	if err != nil || len(lacking) == 0 {
		return err
	}
	if full {
		for _, t := range lacking {
			if _, err := q.Exec(ctx, "ALTER TABLE "+t.Quoted()+" REPLICA IDENTITY FULL"); err != nil {
				return err
			}
		}
		return nil
	}
	quoted := make([]string, len(lacking))
	for i, t := range lacking {
		quoted[i] = t.Quoted()
	}
	return fmt.Errorf("%w: %s; publication %q publishes updates or deletes, and PostgreSQL would refuse UPDATE and DELETE "+
		"on such a table once published (SQLSTATE 55000): add a primary key, or run ALTER TABLE %s REPLICA IDENTITY FULL "+
		"(SetReplicaIdentityFull does), or publish inserts only (PublishInsertsOnly for a new publication)",
		ErrNoReplicaIdentity, strings.Join(quoted, ", "), publication, quoted[0])
}
