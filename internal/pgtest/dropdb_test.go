package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// A walsender streaming from a logical slot of the database does not stop
// DropDatabase (DROP DATABASE WITH (FORCE) alone refuses: "used by an
// active logical replication slot"), as when a test's cleanup drops the
// database a moment after its Source stopped, before the walsender exited.
func TestDropDatabaseEndsItsWalsenders(t *testing.T) {
	s := ownServer(t, pgtest.Options{Settings: map[string]string{"wal_level": "logical"}})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	url, err := s.CreateDatabase(ctx, "streamed")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := pgconn.Connect(ctx, url+"&replication=database")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	if _, err := pglogrepl.CreateReplicationSlot(ctx, rc, "held", "test_decoding", pglogrepl.CreateReplicationSlotOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pglogrepl.StartReplication(ctx, rc, "held", 0, pglogrepl.StartReplicationOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := connect(t, s.URL("postgres"))
	var active bool
	if err := admin.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = 'held'`).Scan(&active); err != nil || !active {
		t.Fatalf("the slot is not active (%v): the test would prove nothing", err)
	}
	if err := s.DropDatabase(ctx, "streamed"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = 'streamed'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the database is still there (%d, %v)", n, err)
	}
}
