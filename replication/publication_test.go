package replication_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

func pubConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.NewDB(t, pg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// serverVersion returns the server's server_version_num.
func serverVersion(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var v int
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// requireSupported skips the test on a server older than
// replication.MinServerVersion (TestPublicationUnsupportedServer covers
// those) and returns the server_version_num.
func requireSupported(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	v := serverVersion(t, conn)
	if v < replication.MinServerVersion*10000 {
		t.Skipf("the server is %d, older than the supported minimum %d: the publication functions refuse it", v, replication.MinServerVersion)
	}
	return v
}

func TestEnsurePublicationIdempotent(t *testing.T) {
	conn := pubConn(t)
	requireSupported(t, conn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA "My Schema"; CREATE TABLE "My Schema"."Odd ""t""" (id int PRIMARY KEY); CREATE TABLE public.b (id int PRIMARY KEY); CREATE TABLE public.c (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	odd := pgsql.Table{Schema: "My Schema", Name: `Odd "t"`}
	b := pgsql.Table{Schema: "public", Name: "b"}
	c := pgsql.Table{Schema: "public", Name: "c"}
	const pub = `Pub "one"`
	if got, err := replication.ListPublishedTables(ctx, conn, pub); err != nil || len(got) != 0 {
		t.Fatalf("before: %v %v", got, err)
	}
	if err := replication.EnsurePublication(ctx, conn, pub, b); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, pub, odd, b, odd); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, pub, odd, b); err != nil {
		t.Fatal(err)
	}
	got, err := replication.ListPublishedTables(ctx, conn, pub)
	if err != nil || !reflect.DeepEqual(got, []pgsql.Table{odd, b}) {
		t.Fatalf("published %v %v", got, err)
	}
	if err := replication.RemoveFromPublication(ctx, conn, pub, b, c); err != nil {
		t.Fatal(err)
	}
	if err := replication.RemoveFromPublication(ctx, conn, "no such publication", b); err != nil {
		t.Fatal(err)
	}
	got, err = replication.ListPublishedTables(ctx, conn, pub)
	if err != nil || !reflect.DeepEqual(got, []pgsql.Table{odd}) {
		t.Fatalf("after remove %v %v", got, err)
	}
	// An empty publication can be created, and one FOR ALL TABLES lists them all.
	if err := replication.EnsurePublication(ctx, conn, "empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE PUBLICATION everything FOR ALL TABLES`); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "everything", b); err != nil {
		t.Fatal(err)
	}
	if got, err := replication.ListPublishedTables(ctx, conn, "everything"); err != nil || len(got) != 3 {
		t.Fatalf("FOR ALL TABLES: %v %v", got, err)
	}
}

// A schema publication lists its schema's tables, and explicit ones.
func TestEnsurePublicationForTablesInSchema(t *testing.T) {
	conn := pubConn(t)
	if v := requireSupported(t, conn); v < 150000 {
		t.Skipf("FOR TABLES IN SCHEMA needs PostgreSQL 15; the server is %d", v)
	}
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA "My Schema"; CREATE TABLE "My Schema"."Odd ""t""" (id int PRIMARY KEY); CREATE TABLE public.b (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	odd := pgsql.Table{Schema: "My Schema", Name: `Odd "t"`}
	b := pgsql.Table{Schema: "public", Name: "b"}
	if _, err := conn.Exec(ctx, `CREATE PUBLICATION by_schema FOR TABLES IN SCHEMA "My Schema"`); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "by_schema", odd, b); err != nil {
		t.Fatal(err)
	}
	if got, err := replication.ListPublishedTables(ctx, conn, "by_schema"); err != nil || !reflect.DeepEqual(got, []pgsql.Table{odd, b}) {
		t.Fatalf("FOR TABLES IN SCHEMA: %v %v", got, err)
	}
	if err := replication.RemoveFromPublication(ctx, conn, "by_schema", b); err != nil {
		t.Fatal(err)
	}
	if got, err := replication.ListPublishedTables(ctx, conn, "by_schema"); err != nil || !reflect.DeepEqual(got, []pgsql.Table{odd}) {
		t.Fatalf("after remove: %v %v", got, err)
	}
}

func TestPublicationRejectsInvalidIdentifiers(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("p", 64)
	ok := pgsql.Table{Schema: "public", Name: "t"}
	// No connection is needed: validation comes before any query.
	var q pgsql.Querier = (*pgx.Conn)(nil)
	for _, err := range []error{
		replication.EnsurePublication(ctx, q, "", ok),
		replication.EnsurePublication(ctx, q, long, ok),
		replication.EnsurePublication(ctx, q, "p\x00", ok),
		replication.EnsurePublication(ctx, q, "p", pgsql.Table{Schema: "", Name: "t"}),
		replication.RemoveFromPublication(ctx, q, "p", pgsql.Table{Schema: "s", Name: long}),
		func() error { _, err := replication.ListPublishedTables(ctx, q, ""); return err }(),
		replication.DropSlot(ctx, q, "Upper"),
		replication.DropSlot(ctx, q, "x'; DROP TABLE t; --"),
		replication.DropSlot(ctx, q, ""),
	} {
		if !errors.Is(err, pgsql.ErrInvalidIdentifier) {
			t.Errorf("got %v, want ErrInvalidIdentifier", err)
		}
	}
}

// On a server older than replication.MinServerVersion every publication function
// fails with replication.ErrUnsupportedServer, before changing anything. It runs only
// on such a server (PHOENIXKITDB_PG_BINDIR pointing at PostgreSQL 13).
func TestPublicationUnsupportedServer(t *testing.T) {
	conn := pubConn(t)
	if v := serverVersion(t, conn); v >= replication.MinServerVersion*10000 {
		t.Skipf("the server is %d, supported: this test needs one older than %d", v, replication.MinServerVersion)
	}
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tbl := pgsql.Table{Schema: "public", Name: "t"}
	_, listErr := replication.ListPublishedTables(ctx, conn, "p")
	for _, err := range []error{
		replication.EnsurePublication(ctx, conn, "p", tbl),
		replication.RemoveFromPublication(ctx, conn, "p", tbl),
		listErr,
	} {
		if !errors.Is(err, replication.ErrUnsupportedServer) || !strings.Contains(err.Error(), "needs 14 or later") {
			t.Errorf("got %v, want ErrUnsupportedServer", err)
		}
	}
	if publicationExists(t, conn, "p") {
		t.Fatal("the publication was created")
	}
}

func TestDropSlot(t *testing.T) {
	conn := pubConn(t)
	ctx := context.Background()
	var level string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil {
		t.Fatal(err)
	}
	if level != "logical" {
		// A physical slot drops the same way and needs no logical server.
		if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot('pkdb_drop_test')"); err != nil {
			t.Fatal(err)
		}
	} else if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot('pkdb_drop_test', 'pgoutput')"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time the slot is gone: not an error
		if err := replication.DropSlot(ctx, conn, "pkdb_drop_test"); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pkdb_drop_test'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d slots left, %v", n, err)
	}
}
