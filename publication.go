package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Publications and slots for the WAL change source (Config.Source =
// SourceWAL, package replication). Names are quoted as identifiers, so case
// matters; a name PostgreSQL cannot store is rejected with
// ErrInvalidIdentifier before anything is sent.

// EnsurePublication is EnsurePublicationWith without options: a table
// without a usable replica identity is refused with ErrNoReplicaIdentity
// when the publication publishes updates or deletes.
func EnsurePublication(ctx context.Context, q Querier, publication string, tables ...Table) error {
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
// be able to begin one: ErrNoTransaction otherwise) under the advisory lock
// EnsureTrigger takes, so concurrent callers, from any number of processes
// at start-up, wait for each other instead of failing; in a caller's
// transaction that lock is held until it ends. Lock waits are bounded as
// WithPublicationLockTimeout says. The role needs CREATE on the database to
// create a publication and ownership of the tables to add them. A server
// older than MinServerVersion gives an error wrapping ErrUnsupportedServer.
func EnsurePublicationWith(ctx context.Context, q Querier, publication string, tables []Table, opts ...PublicationOption) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	o := newPublicationOptions(opts)
	err := inTx(ctx, q, func(tx Querier) error {
		version, err := supportedServer(ctx, tx)
		if err != nil {
			return err
		}
		return withInstallLock(ctx, tx, o.lockOptions(), func() error {
			return ensurePublication(ctx, tx, version, publication, tables, o)
		})
	})
	if err != nil {
		err = withPublicationHint(ctx, q, publication, err)
		return triggerError(fmt.Sprintf("ensure publication %q", publication), err)
	}
	return nil
}

// ensurePublication is EnsurePublicationWith's work, under the lock.
func ensurePublication(ctx context.Context, q Querier, version int, publication string, tables []Table, o publicationOptions) error {
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
// begin one: ErrNoTransaction otherwise) under EnsurePublicationWith's
// advisory lock, with lock waits bounded by DefaultLockTimeout.
func RemoveFromPublication(ctx context.Context, q Querier, publication string, tables ...Table) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	o := newPublicationOptions(nil)
	err := inTx(ctx, q, func(tx Querier) error {
		version, err := supportedServer(ctx, tx)
		if err != nil {
			return err
		}
		return withInstallLock(ctx, tx, o.lockOptions(), func() error {
			return removeFromPublication(ctx, tx, version, publication, tables)
		})
	})
	if err != nil {
		err = withPublicationHint(ctx, q, publication, err)
		return triggerError(fmt.Sprintf("remove from publication %q", publication), err)
	}
	return nil
}

func removeFromPublication(ctx context.Context, q Querier, version int, publication string, tables []Table) error {
	published, err := listPublished(ctx, q, version, publication)
	if err != nil {
		return err
	}
	in := make(map[Table]bool, len(published))
	for _, t := range published {
		in[t] = true
	}
	var drop []Table
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
func ListPublishedTables(ctx context.Context, q Querier, publication string) ([]Table, error) {
	if err := validatePublication(publication); err != nil {
		return nil, err
	}
	version, err := supportedServer(ctx, q)
	if err == nil {
		var tables []Table
		if tables, err = listPublished(ctx, q, version, publication); err == nil {
			return tables, nil
		}
	}
	return nil, fmt.Errorf("phoenixkitdb: list published tables of %q: %w", publication, err)
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
func listPublished(ctx context.Context, q Querier, version int, publication string) ([]Table, error) {
	covered := publishedCovered15
	if version < 150000 {
		covered = publishedCovered14
	}
	rows, err := q.Query(ctx, publishedExplicit+covered+publishedEnd, publication)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
}

// ErrSlotActive is returned (wrapped) by DropSlot for a slot that a
// walsender still streams from after dropSlotWait.
var ErrSlotActive = errors.New("phoenixkitdb: replication slot is in use")

// dropSlotWait bounds how long DropSlot waits for a slot's walsender to
// exit: a Source that has just stopped leaves its server process ending
// for a moment after Serve returned.
const dropSlotWait = 10 * time.Second

// DropSlot drops the replication slot; a slot that does not exist is not
// an error. A slot in use cannot be dropped: DropSlot waits up to 10 s
// (bounded by ctx too) for its walsender to exit, as one does a moment
// after its Source stopped, then returns an error wrapping ErrSlotActive.
// Stop the Source first. Dropping the slot of a Source that will run
// again makes it lose the changes in between, which it reports with a
// Resync (reason "slot").
//
// It is safe inside a caller's transaction: each attempt runs in a
// savepoint (a transaction of its own when q is a connection or pool), so
// that what another session does between DropSlot's look at the slot and
// its drop (dropping the slot itself, or starting to stream from it),
// which makes the server raise an error, is rolled back there and never
// aborts the caller's transaction. The drop itself is not transactional:
// it stands even if the caller's transaction rolls back. A Querier
// without pgx's Begin runs the attempts as single statements.
func DropSlot(ctx context.Context, q Querier, slot string) error {
	if err := validateSlot(slot); err != nil {
		return err
	}
	deadline := time.Now().Add(dropSlotWait)
	for {
		active, err := dropSlotOnce(ctx, q, slot)
		switch {
		case err != nil:
			return fmt.Errorf("phoenixkitdb: drop slot %q: %w", slot, err)
		case !active:
			return nil // dropped, or there was no such slot
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %q is still streamed from after %v", ErrSlotActive, slot, dropSlotWait)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %q: %w", ErrSlotActive, slot, ctx.Err())
		case <-t.C:
		}
	}
}

// dropSlotOnce drops slot unless a walsender streams from it and reports
// whether one does. The statement looks first, so the usual cases (no
// slot, an active one) raise nothing; the errors of a change in between
// are caught in the savepoint: the slot gone (42704) counts as dropped, a
// walsender that took it (55006) as active.
func dropSlotOnce(ctx context.Context, q Querier, slot string) (active bool, err error) {
	var dropped bool // read so that the drop runs
	drop := func(q Querier) error {
		return q.QueryRow(ctx, `WITH s AS (SELECT slot_name, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1),
d AS (SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM s WHERE NOT active)
SELECT EXISTS (SELECT 1 FROM d), COALESCE((SELECT active FROM s), false)`, slot).Scan(&dropped, &active)
	}
	if _, ok := q.(beginner); ok {
		err = inTx(ctx, q, drop)
	} else {
		err = drop(q)
	}
	switch {
	case isSQLState(err, "42704"):
		return false, nil
	case isSQLState(err, "55006"):
		return true, nil
	}
	return active, err
}

// pubState is what publicationState reads.
type pubState struct {
	exists           bool
	all              bool // FOR ALL TABLES
	updatesOrDeletes bool // publish includes update or delete
}

// publicationState reads publication's row of pg_publication.
func publicationState(ctx context.Context, q Querier, publication string) (pubState, error) {
	var st pubState
	err := q.QueryRow(ctx, `SELECT count(*) > 0, COALESCE(bool_or(puballtables), false),
	COALESCE(bool_or(pubupdate OR pubdelete), false)
FROM pg_catalog.pg_publication WHERE pubname = $1`, publication).Scan(&st.exists, &st.all, &st.updatesOrDeletes)
	return st, err
}

// notPublished returns the tables, deduplicated, that publication does
// not name yet.
func notPublished(ctx context.Context, q Querier, version int, publication string, tables []Table) ([]Table, error) {
	published, err := listPublished(ctx, q, version, publication)
	if err != nil {
		return nil, err
	}
	in := make(map[Table]bool, len(published)+len(tables))
	for _, t := range published {
		in[t] = true
	}
	var missing []Table
	for _, t := range tables {
		if !in[t] {
			missing = append(missing, t)
			in[t] = true
		}
	}
	return missing, nil
}

// dedupTables returns tables without repeats, in their first order.
func dedupTables(tables []Table) []Table {
	seen := make(map[Table]bool, len(tables))
	out := make([]Table, 0, len(tables))
	for _, t := range tables {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func tableList(tables []Table) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = quoteTable(t.Schema, t.Name)
	}
	return strings.Join(parts, ", ")
}

func validatePublicationArgs(publication string, tables []Table) error {
	if err := validatePublication(publication); err != nil {
		return err
	}
	for _, t := range tables {
		if err := validateStored(t.Schema, t.Name); err != nil {
			return err
		}
	}
	return nil
}

func validatePublication(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty publication name", ErrInvalidIdentifier)
	case len(name) > maxIdentifierBytes:
		return fmt.Errorf("%w: publication %q is longer than %d bytes", ErrInvalidIdentifier, name, maxIdentifierBytes)
	case strings.ContainsRune(name, 0) || !utf8.ValidString(name):
		return fmt.Errorf("%w: publication %q contains NUL or invalid UTF-8", ErrInvalidIdentifier, name)
	}
	return nil
}

// validateSlot applies PostgreSQL's rule for slot names: 1 to 63 bytes of
// lower-case letters, digits and underscores.
func validateSlot(slot string) error {
	if slot == "" || len(slot) > maxIdentifierBytes {
		return fmt.Errorf("%w: slot name %q must be 1 to %d bytes", ErrInvalidIdentifier, slot, maxIdentifierBytes)
	}
	for i := 0; i < len(slot); i++ {
		c := slot[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: slot name %q may hold only lower-case letters, digits and underscores", ErrInvalidIdentifier, slot)
		}
	}
	return nil
}
