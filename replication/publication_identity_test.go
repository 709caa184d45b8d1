package replication_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// identityTables are tables with and without a usable replica identity,
// each holding a row (in each of its partitions or children). Whether one
// has a usable identity is not written down here: PostgreSQL decides it
// (updatesFailWhenPublished).
var identityTables = map[string]string{
	"pk":          `CREATE TABLE pk (id int PRIMARY KEY, v int); INSERT INTO pk VALUES (1, 1)`,
	"no_pk":       `CREATE TABLE no_pk (id int, v int); INSERT INTO no_pk VALUES (1, 1)`,
	"deferred_pk": `CREATE TABLE deferred_pk (id int PRIMARY KEY DEFERRABLE, v int); INSERT INTO deferred_pk VALUES (1, 1)`,
	"by_index": `CREATE TABLE by_index (id int NOT NULL, v int); CREATE UNIQUE INDEX by_index_id ON by_index (id);
		ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_id; INSERT INTO by_index VALUES (1, 1)`,
	"nothing": `CREATE TABLE nothing (id int PRIMARY KEY, v int); ALTER TABLE nothing REPLICA IDENTITY NOTHING;
		INSERT INTO nothing VALUES (1, 1)`,
	"full_ident": `CREATE TABLE full_ident (id int, v int); ALTER TABLE full_ident REPLICA IDENTITY FULL; INSERT INTO full_ident VALUES (1, 1)`,
	"part_pk": `CREATE TABLE part_pk (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
		CREATE TABLE part_pk_1 PARTITION OF part_pk FOR VALUES FROM (0) TO (100); INSERT INTO part_pk VALUES (1, 1)`,
	"part_no_pk": `CREATE TABLE part_no_pk (id int, v int) PARTITION BY RANGE (id);
		CREATE TABLE part_no_pk_1 PARTITION OF part_no_pk FOR VALUES FROM (0) TO (100); INSERT INTO part_no_pk VALUES (1, 1)`,
	"inherited": `CREATE TABLE inherited (id int PRIMARY KEY, v int); CREATE TABLE inherited_child () INHERITS (inherited);
		INSERT INTO inherited_child VALUES (1, 1)`,
}

// updatesFailWhenPublished is the oracle: it publishes table with plain
// SQL in a transaction it rolls back and reports whether PostgreSQL then
// refuses the application's UPDATE and DELETE with 55000, as it does for
// a table without a usable replica identity.
func updatesFailWhenPublished(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "CREATE PUBLICATION oracle FOR TABLE "+pgx.Identifier{table}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, sql := range []string{"UPDATE %s SET v = v + 1", "DELETE FROM %s"} {
		if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(sql, pgx.Identifier{table}.Sanitize()))
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "55000":
			failed++
		case err != nil:
			t.Fatalf("%s on %s: %v", sql, table, err)
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s"); err != nil {
			t.Fatal(err)
		}
	}
	if failed == 1 {
		t.Fatalf("%s: only one of UPDATE and DELETE failed", table)
	}
	return failed == 2
}

// updatesWork runs the application's UPDATE and DELETE on table (in a
// transaction it rolls back) and fails the test if PostgreSQL refuses them.
func updatesWork(t *testing.T, conn *pgx.Conn, table string) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, sql := range []string{"UPDATE %s SET v = v + 1", "DELETE FROM %s"} {
		if _, err := tx.Exec(ctx, fmt.Sprintf(sql, pgx.Identifier{table}.Sanitize())); err != nil {
			t.Fatalf("the application's writes broke: %s on %s: %v", sql, table, err)
		}
	}
}

func publicationExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// replication.EnsurePublication refuses exactly the tables whose UPDATE and DELETE
// PostgreSQL would refuse once published, changes nothing then, and the
// application's writes keep working on every table it accepted.
func TestEnsurePublicationRefusesTablesWithoutReplicaIdentity(t *testing.T) {
	conn := pubConn(t)
	requireSupported(t, conn)
	ctx := context.Background()
	for _, sql := range identityTables {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	refusedSome, acceptedSome := false, false
	for name := range identityTables {
		t.Run(name, func(t *testing.T) {
			table := pgsql.Table{Schema: "public", Name: name}
			breaks := updatesFailWhenPublished(t, conn, name)
			pub := "pub_" + name
			err := replication.EnsurePublication(ctx, conn, pub, table)
			if breaks {
				refusedSome = true
				if !errors.Is(err, replication.ErrNoReplicaIdentity) {
					t.Fatalf("got %v, want ErrNoReplicaIdentity", err)
				}
				if publicationExists(t, conn, pub) {
					t.Fatal("the refused call created the publication")
				}
			} else {
				acceptedSome = true
				if err != nil {
					t.Fatal(err)
				}
				if got, err := replication.ListPublishedTables(ctx, conn, pub); err != nil || len(got) != 1 || got[0] != table {
					t.Fatalf("published %v %v", got, err)
				}
			}
			updatesWork(t, conn, name)
		})
	}
	if !refusedSome || !acceptedSome {
		t.Fatalf("the oracle split the tables badly: refused some %v, accepted some %v", refusedSome, acceptedSome)
	}
}

// An existing publication that publishes updates refuses such a table
// too; one that publishes inserts only, or replication.PublishInsertsOnly on a new
// one, takes it and the application's writes keep working.
func TestEnsurePublicationInsertsOnly(t *testing.T) {
	conn := pubConn(t)
	requireSupported(t, conn)
	ctx := context.Background()
	for _, name := range []string{"pk", "no_pk", "part_no_pk"} {
		if _, err := conn.Exec(ctx, identityTables[name]); err != nil {
			t.Fatal(err)
		}
	}
	pk := pgsql.Table{Schema: "public", Name: "pk"}
	noPK := pgsql.Table{Schema: "public", Name: "no_pk"}
	part := pgsql.Table{Schema: "public", Name: "part_no_pk"}
	if err := replication.EnsurePublication(ctx, conn, "full_pub", pk); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "full_pub", pk, noPK); !errors.Is(err, replication.ErrNoReplicaIdentity) {
		t.Fatalf("adding to a publication of updates: got %v, want ErrNoReplicaIdentity", err)
	}
	// Asking for inserts only does not narrow an existing publication.
	err := replication.EnsurePublicationWith(ctx, conn, "full_pub", []pgsql.Table{noPK}, replication.PublishInsertsOnly())
	if !errors.Is(err, replication.ErrNoReplicaIdentity) {
		t.Fatalf("replication.PublishInsertsOnly on an existing publication of updates: got %v, want ErrNoReplicaIdentity", err)
	}
	if got, err := replication.ListPublishedTables(ctx, conn, "full_pub"); err != nil || len(got) != 1 {
		t.Fatalf("full_pub holds %v %v", got, err)
	}

	tables := []pgsql.Table{noPK, part, pk}
	for range 2 { // idempotent
		if err := replication.EnsurePublicationWith(ctx, conn, "inserts", tables, replication.PublishInsertsOnly()); err != nil {
			t.Fatal(err)
		}
	}
	var ins, upd, del, trunc bool
	if err := conn.QueryRow(ctx, "SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = 'inserts'").Scan(&ins, &upd, &del, &trunc); err != nil {
		t.Fatal(err)
	}
	if !ins || upd || del || !trunc {
		t.Fatalf("publish: insert %v update %v delete %v truncate %v", ins, upd, del, trunc)
	}
	if got, err := replication.ListPublishedTables(ctx, conn, "inserts"); err != nil || len(got) != 3 {
		t.Fatalf("inserts holds %v %v", got, err)
	}
	for _, name := range []string{"no_pk", "part_no_pk", "pk"} {
		updatesWork(t, conn, name)
	}
	// A publication of inserts only created by hand takes them as well.
	if _, err := conn.Exec(ctx, "CREATE PUBLICATION by_hand WITH (publish = 'insert')"); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "by_hand", noPK); err != nil {
		t.Fatal(err)
	}
	updatesWork(t, conn, "no_pk")
}

// replication.SetReplicaIdentityFull gives REPLICA IDENTITY FULL to exactly the tables
// (partitions included) that lack a usable identity, after which
// PostgreSQL accepts UPDATE and DELETE on all of them while published.
func TestEnsurePublicationReplicaIdentityFull(t *testing.T) {
	conn := pubConn(t)
	requireSupported(t, conn)
	ctx := context.Background()
	var tables []pgsql.Table
	for name, sql := range identityTables {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, pgsql.Table{Schema: "public", Name: name})
	}
	before := replIdentities(t, conn)
	if err := replication.EnsurePublicationWith(ctx, conn, "everything", tables, replication.SetReplicaIdentityFull()); err != nil {
		t.Fatal(err)
	}
	after := replIdentities(t, conn)
	for name := range identityTables {
		updatesWork(t, conn, name)
	}
	for rel, was := range before {
		now := after[rel]
		if now != was && now != "f" {
			t.Errorf("%s: replica identity %s became %s", rel, was, now)
		}
	}
	// The tables that keep their identity are those PostgreSQL accepts:
	// with "everything" dropped, the oracle agrees on every table.
	if _, err := conn.Exec(ctx, "DROP PUBLICATION everything"); err != nil {
		t.Fatal(err)
	}
	for name := range identityTables {
		if updatesFailWhenPublished(t, conn, name) {
			t.Errorf("%s still lacks a usable replica identity", name)
		}
	}
	for _, rel := range []string{"pk", "by_index", "part_pk_1", "inherited"} {
		if after[rel] != before[rel] {
			t.Errorf("%s had a usable identity and was changed: %s -> %s", rel, before[rel], after[rel])
		}
	}
}

// replIdentities maps each table of schema public to its relreplident.
func replIdentities(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT relname, relreplident::text FROM pg_class
WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	var name, ident string
	_, err = pgx.ForEachRow(rows, []any{&name, &ident}, func() error { m[name] = ident; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return m
}
