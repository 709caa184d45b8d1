package replication

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// Publications and slots for the WAL change source (Config.Source =
// SourceWAL, package replication). Names are quoted as identifiers, so case
// matters; a name PostgreSQL cannot store is rejected with
// pgsql.ErrInvalidIdentifier before anything is sent.

// EnsurePublication is EnsurePublicationWith without options: a table
// without a usable replica identity is refused with ErrNoReplicaIdentity
// when the publication publishes updates or deletes.
func EnsurePublication(ctx context.Context, q pgsql.Querier, publication string, tables ...pgsql.Table) error {
	return EnsurePublicationWith(ctx, q, publication, tables)
}

// EnsurePublicationWith creates publication when it does not exist and adds
// the tables not yet in it; it is idempotent and changes nothing when all
// are in place. A publication FOR ALL TABLES already holds every table.
// The tables must exist. An existing publication keeps its parameters
// (publish, publish_via_partition_root).
//
// PostgreSQL refuses UPDATE and DELETE on a table published for updates or
// deletes that has no replica identity (no primary key, no REPLICA
// IDENTITY USING INDEX, not REPLICA IDENTITY FULL): adding one would break
// the application's writes. EnsurePublicationWith refuses such a table
// (for a partitioned or inherited table: any of its tables that lacks
// one) with an error wrapping ErrNoReplicaIdentity and changes nothing,
// unless PublishInsertsOnly or SetReplicaIdentityFull says otherwise.
//
// The work runs in one transaction (a savepoint if q is a pgx.Tx; q must
// be able to begin one: pgsql.ErrNoTransaction otherwise) under the advisory lock
// trigger.Ensure takes, so concurrent callers, from any number of processes
// at start-up, wait for each other instead of failing; in a caller's
// transaction that lock is held until it ends. Lock waits are bounded as
// WithPublicationLockTimeout says. The role needs CREATE on the database to
// create a publication and ownership of the tables to add them. A server
// older than MinServerVersion gives an error wrapping ErrUnsupportedServer.
func EnsurePublicationWith(ctx context.Context, q pgsql.Querier, publication string, tables []pgsql.Table, opts ...PublicationOption) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	o := newPublicationOptions(opts)
	err := ddl.InTx(ctx, q, func(tx pgsql.Querier) error {
		version, err := supportedServer(ctx, tx)
		if err != nil {
			return err
		}
		return ddl.WithInstallLock(ctx, tx, o.lockTimeout, func() error {
			return ensurePublication(ctx, tx, version, publication, tables, o)
		})
	})
	if err != nil {
		err = withPublicationHint(ctx, q, publication, err)
		return ddl.Error("replication", fmt.Sprintf("ensure publication %q", publication), err)
	}
	return nil
}

// ensurePublication is EnsurePublicationWith's work, under the lock.
func ensurePublication(ctx context.Context, q pgsql.Querier, version int, publication string, tables []pgsql.Table, o publicationOptions) error {
	st, err := publicationState(ctx, q, publication)
	if err != nil {
		return err
	}
	if st.all {
		return nil
	}
	add := dedupTables(tables)
	changesRows := !o.insertsOnly
	if st.exists {
		if add, err = notPublished(ctx, q, version, publication, tables); err != nil {
			return err
		}
		changesRows = st.updatesOrDeletes
	}
	if changesRows && len(add) > 0 {
		if err := requireReplicaIdentity(ctx, q, publication, add, o.identityFull); err != nil {
			return err
		}
	}
	name := pgx.Identifier{publication}.Sanitize()
	if !st.exists {
		sql := "CREATE PUBLICATION " + name
		if len(add) > 0 {
			sql += " FOR TABLE " + tableList(add)
		}
		if o.insertsOnly {
			sql += " WITH (publish = 'insert, truncate')"
		}
		_, err := q.Exec(ctx, sql)
		return err
	}
	if len(add) == 0 {
		return nil
	}
	_, err = q.Exec(ctx, "ALTER PUBLICATION "+name+" ADD TABLE "+tableList(add))
	return err
}

// RemoveFromPublication removes tables from publication; tables not in it,
// and a publication that does not exist, are not an error. The publication
// itself stays, even empty. It runs in one transaction (q must be able to
// begin one: pgsql.ErrNoTransaction otherwise) under EnsurePublicationWith's
// advisory lock, with lock waits bounded by 5 s (trigger.DefaultLockTimeout).
func RemoveFromPublication(ctx context.Context, q pgsql.Querier, publication string, tables ...pgsql.Table) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	o := newPublicationOptions(nil)
	err := ddl.InTx(ctx, q, func(tx pgsql.Querier) error {
		version, err := supportedServer(ctx, tx)
		if err != nil {
			return err
		}
		return ddl.WithInstallLock(ctx, tx, o.lockTimeout, func() error {
			return removeFromPublication(ctx, tx, version, publication, tables)
		})
	})
	if err != nil {
		err = withPublicationHint(ctx, q, publication, err)
		return ddl.Error("replication", fmt.Sprintf("remove from publication %q", publication), err)
	}
	return nil
}

func removeFromPublication(ctx context.Context, q pgsql.Querier, version int, publication string, tables []pgsql.Table) error {
	published, err := listPublished(ctx, q, version, publication)
	if err != nil {
		return err
	}
	in := make(map[pgsql.Table]bool, len(published))
	for _, t := range published {
		in[t] = true
	}
	var drop []pgsql.Table
	for _, t := range tables {
		if in[t] {
			drop = append(drop, t)
			in[t] = false
		}
	}
	if len(drop) == 0 {
		return nil
	}
	_, err = q.Exec(ctx, "ALTER PUBLICATION "+pgx.Identifier{publication}.Sanitize()+" DROP TABLE "+tableList(drop))
	return err
}

// ListPublishedTables returns, sorted, the tables publication names
// explicitly (for a publication FOR ALL TABLES or FOR TABLES IN SCHEMA,
// the tables it covers). A publication that does not exist has none. A
// server older than MinServerVersion gives an error wrapping
// ErrUnsupportedServer.
func ListPublishedTables(ctx context.Context, q pgsql.Querier, publication string) ([]pgsql.Table, error) {
	if err := validatePublication(publication); err != nil {
		return nil, err
	}
	version, err := supportedServer(ctx, q)
	if err == nil {
		var tables []pgsql.Table
		if tables, err = listPublished(ctx, q, version, publication); err == nil {
			return tables, nil
		}
	}
	return nil, fmt.Errorf("replication: list published tables of %q: %w", publication, err)
}

// Publications of tables in a schema (FOR TABLES IN SCHEMA, catalog
// pg_publication_namespace) exist from PostgreSQL 15; before, a
// publication covers the tables it names or, FOR ALL TABLES, every one.
const (
	publishedExplicit = `
SELECT n.nspname, c.relname
FROM pg_catalog.pg_publication p
JOIN pg_catalog.pg_publication_rel pr ON pr.prpubid = p.oid
JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1 AND NOT p.puballtables
UNION
SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables
WHERE pubname = $1 AND (`
	publishedCovered14 = `SELECT puballtables`
	publishedCovered15 = `SELECT puballtables OR EXISTS (
	SELECT 1 FROM pg_catalog.pg_publication_namespace pn WHERE pn.pnpubid = p.oid)`
	publishedEnd = `
	FROM pg_catalog.pg_publication p WHERE p.pubname = $1)
ORDER BY 1, 2`
)

// listPublished is ListPublishedTables on a server of the given
// server_version_num.
func listPublished(ctx context.Context, q pgsql.Querier, version int, publication string) ([]pgsql.Table, error) {
	covered := publishedCovered15
	if version < 150000 {
		covered = publishedCovered14
	}
	rows, err := q.Query(ctx, publishedExplicit+covered+publishedEnd, publication)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgsql.Table, error) {
		var t pgsql.Table
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
}

// pubState is what publicationState reads.
type pubState struct {
	exists           bool
	all              bool // FOR ALL TABLES
	updatesOrDeletes bool // publish includes update or delete
}

// publicationState reads publication's row of pg_publication.
func publicationState(ctx context.Context, q pgsql.Querier, publication string) (pubState, error) {
	var st pubState
	err := q.QueryRow(ctx, `SELECT count(*) > 0, COALESCE(bool_or(puballtables), false),
	COALESCE(bool_or(pubupdate OR pubdelete), false)
FROM pg_catalog.pg_publication WHERE pubname = $1`, publication).Scan(&st.exists, &st.all, &st.updatesOrDeletes)
	return st, err
}

// notPublished returns the tables, deduplicated, that publication does
// not name yet.
func notPublished(ctx context.Context, q pgsql.Querier, version int, publication string, tables []pgsql.Table) ([]pgsql.Table, error) {
	published, err := listPublished(ctx, q, version, publication)
	if err != nil {
		return nil, err
	}
	in := make(map[pgsql.Table]bool, len(published)+len(tables))
	for _, t := range published {
		in[t] = true
	}
	var missing []pgsql.Table
	for _, t := range tables {
		if !in[t] {
			missing = append(missing, t)
			in[t] = true
		}
	}
	return missing, nil
}

// dedupTables returns tables without repeats, in their first order.
func dedupTables(tables []pgsql.Table) []pgsql.Table {
	seen := make(map[pgsql.Table]bool, len(tables))
	out := make([]pgsql.Table, 0, len(tables))
	for _, t := range tables {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func tableList(tables []pgsql.Table) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = t.Quoted()
	}
	return strings.Join(parts, ", ")
}

func validatePublicationArgs(publication string, tables []pgsql.Table) error {
	if err := validatePublication(publication); err != nil {
		return err
	}
	for _, t := range tables {
		if err := t.Check(); err != nil {
			return err
		}
	}
	return nil
}

func validatePublication(name string) error { return pgsql.CheckIdentifier("publication", name) }

// serverVersion returns the server's server_version_num (150004 for
// 15.4), the number each version-specific catalog query is chosen by.
func serverVersion(ctx context.Context, q pgsql.Querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT pg_catalog.current_setting('server_version_num')::int").Scan(&v)
	return v, err
}

// supportedServer returns the server's server_version_num, or an error
// wrapping ErrUnsupportedServer when it is older than MinServerVersion.
func supportedServer(ctx context.Context, q pgsql.Querier) (int, error) {
	v, err := serverVersion(ctx, q)
	if err != nil {
		return 0, err
	}
	if err := checkServerVersionNum(v); err != nil {
		return 0, err
	}
	return v, nil
}

// checkServerVersionNum refuses a server_version_num below
// MinServerVersion.
func checkServerVersionNum(num int) error {
	if num < MinServerVersion*10000 {
		return fmt.Errorf("%w: the server runs PostgreSQL %d, this library needs %d or later", ErrUnsupportedServer, num/10000, MinServerVersion)
	}
	return nil
}
