package replication_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// A database moved to another cluster whose WAL positions are lower (a
// restore, a point-in-time recovery, a standby that lagged) must not have
// its new commits skipped as replays of what the first one delivered:
// the Source sees the other system identifier, sends a Resync
// (ReasonServer) and delivers them. Two Sources: one finds its slot on
// the new server (made there beforehand, as a failover tool or a
// snapshot would), one does not.
func TestServerWithLowerLSNs(t *testing.T) {
	t.Parallel() // servers of its own; mostly waits on their starts, restarts and reconnections
	first, second := ownServer(t), ownServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const dbname = "moved"
	urls := make([]string, 2)
	for i, srv := range []*pgtest.Server{first, second} {
		u, err := srv.CreateDatabase(ctx, dbname)
		if err != nil {
			t.Fatal(err)
		}
		urls[i] = u
		exec(t, connect(t, u), `CREATE TABLE items (id bigint PRIMARY KEY, uuid uuid NOT NULL DEFAULT gen_random_uuid(), n int, note text)`,
			`CREATE TABLE other (id bigint PRIMARY KEY, pad text)`,
			`CREATE PUBLICATION phoenixkitdb FOR TABLE items`)
	}
	proxy, err := pgtest.NewProxy(first.Host() + ":" + itoa(first.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })

	found, made := newSlotName(), newSlotName()
	exec(t, connect(t, urls[1]), `SELECT pg_create_logical_replication_slot('`+found+`', 'pgoutput')`)
	var sources []*bundle
	for _, slot := range []string{found, made} {
		b := setup(t, options{srv: first, url: urls[0], noSchema: true,
			cfg: replication.Config{ConnString: proxy.URL(urls[0]), Slot: slot}})
		waitReady(t, b.src)
		expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
		sources = append(sources, b)
	}

	// The first server's WAL runs ahead: each switch starts a new 16 MB segment.
	writer := connect(t, urls[0])
	for i := range 4 {
		exec(t, writer, `INSERT INTO other VALUES (`+itoa(i)+`, 'x')`, `SELECT pg_switch_wal()`)
	}
	insert(t, writer, 1, 10, 1)
	collectors := make([]*collector, len(sources))
	for i, b := range sources {
		collectors[i] = &collector{t: t, next: 1}
		collectors[i].take(b.mb, 10, 30*time.Second)
	}
	delivered := lastLSN(t, writer)
	sysFirst, sysSecond := systemID(t, writer), systemID(t, connect(t, urls[1]))
	for _, b := range sources {
		if st := b.src.Stats(); st.SystemID != sysFirst || st.Timeline != 1 {
			t.Fatalf("stats name system %d timeline %d, want %d and 1", st.SystemID, st.Timeline, sysFirst)
		}
	}

	proxy.SetTarget(second.Host() + ":" + itoa(second.Port()))
	proxy.CutAll()
	for _, b := range sources {
		eventually(t, 30*time.Second, "streaming from the second server", func() bool {
			return b.src.Stats().SystemID == sysSecond && b.src.Connected()
		})
	}
	other := connect(t, urls[1])
	insert(t, other, 11, 20, 1)
	if now := lastLSN(t, other); now >= delivered {
		t.Fatalf("the second server's WAL (%X) is not behind what the first delivered (%X): the test proves nothing", now, delivered)
	}
	for i, b := range sources {
		expectResync(t, b.mb, pubsub.ReasonServer, 30*time.Second)
		collectors[i].take(b.mb, 20, 30*time.Second)
		expectNothing(t, b.mb)
		if st := b.src.Stats(); st.Resyncs != 2 {
			t.Errorf("%s: stats %+v", b.cfg.Slot, st)
		}
		if n := b.logs.Count("the server's history changed"); n != 1 {
			t.Errorf("%s: %d ERROR lines about the new history; logs:\n%s", b.cfg.Slot, n, b.logs)
		}
	}
}

// lastLSN returns the server's current WAL insert position.
func lastLSN(t *testing.T, conn *pgx.Conn) uint64 {
	t.Helper()
	var lsn uint64
	if err := conn.QueryRow(context.Background(), `SELECT pg_current_wal_lsn() - '0/0'`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	return lsn
}

// systemID returns the server's system identifier as IDENTIFY_SYSTEM
// states it (unsigned). pg_control_system() shows the same 64 bits as a
// signed bigint, negative for identifiers made after January 2038 (initdb
// puts the Unix time in the high 32 bits).
func systemID(t *testing.T, conn *pgx.Conn) uint64 {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), `SELECT system_identifier::text FROM pg_control_system()`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(id)
}
