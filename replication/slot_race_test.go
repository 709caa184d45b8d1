package replication_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// A Source that loses the race to create its slot (another Source created
// it between the look and CREATE_REPLICATION_SLOT) starts from that slot's
// confirmed position, not from 0: with 0 its LagBytes would be the whole
// WAL and it would WARN falsely.
func TestCreateSlotLostRaceReportsTheSlotsPosition(t *testing.T) {
	url := pgtest.NewDB(t, pgtest.Require(t, pg))
	conn := connect(t, url)
	ctx := context.Background()
	slot := newSlotName()
	t.Cleanup(func() { dropSlot(t, url, slot) })
	var confirmed pglogrepl.LSN
	if err := conn.QueryRow(ctx, `SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`, slot).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	got, err := replication.CreateSlotOn(ctx, url, slot)
	if err != nil {
		t.Fatal(err)
	}
	if pglogrepl.LSN(got) != confirmed || confirmed == 0 {
		t.Fatalf("createSlot on an existing slot reported %v, want its confirmed position %v", pglogrepl.LSN(got), confirmed)
	}
}

// The Source accepts the server it runs on when that is supported, and
// refuses an older one (PHOENIXKITDB_PG_BINDIR pointing at PostgreSQL 13)
// with replication.ErrUnsupportedServer.
func TestServerVersionCheck(t *testing.T) {
	url := pgtest.NewDB(t, pgtest.Require(t, pg))
	conn := connect(t, url)
	var num int
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		t.Fatal(err)
	}
	err := replication.CheckServerVersion(context.Background(), url)
	if supported := num >= replication.MinServerVersion*10000; supported != (err == nil) || (err != nil && !errors.Is(err, replication.ErrUnsupportedServer)) {
		t.Fatalf("server %d: check gave %v", num, err)
	}
}
