package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// lastStreamMsg returns the default stream's last message.
func lastStreamMsg(t *testing.T, ns *server.Server) *jetstream.RawStreamMsg {
	t.Helper()
	js := testJS(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, s.CachedInfo().State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// slotState reports whether the slot exists and whether a walsender holds it.
func slotState(t *testing.T, conn *pgx.Conn, slot string) (exists, active bool) {
	t.Helper()
	err := conn.QueryRow(context.Background(),
		`SELECT true, active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&exists, &active)
	if err == pgx.ErrNoRows {
		return false, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return exists, active
}

// WAL source: the slot is dropped between two leaders' terms, and a
// change is committed meanwhile. The new leader, a process that never
// read the slot, has to create it: its source logs "creating slot" and
// sends only its start Resync, which the stream does not carry. The
// stream's last message names the slot, so the new leader tells
// followers the slot was lost (ReasonSlotLost) before the changes of the
// new slot. Before, followers got nothing and the change was gone
// silently.
func TestWALSlotDroppedBetweenTermsResyncs(t *testing.T) {
	ns := startNATS(t)
	dbURL, run := walDB(t)
	a := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	slot := replication.DefaultSlot
	waitReady(t, a)
	if !a.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	// The next leader reaches PostgreSQL through a proxy, frozen while
	// the slot goes.
	proxy, rewrite := proxied(t, dbURL)
	b := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL, dbURL: rewrite})
	waitReady(t, a, b)
	run(`INSERT INTO items VALUES (1, 'x')`)
	expectChanges(t, []*instance{a, b}, inserts(1, 2), []pubsub.Reason{"start"})
	// The last message, the change's, names the slot in its id only:
	// every follower parses every header, so the relay writes none that
	// repeats the id. The new leader below still finds the slot in it.
	last := lastStreamMsg(t, ns)
	if id := last.Header.Get(jetstream.MsgIDHeader); !strings.HasPrefix(id, slot+":") {
		t.Fatalf("last message id %q does not name slot %s", id, slot)
	}
	for _, h := range []string{"Phoenixkitdb-Slot", "Phoenixkitdb-Lsn"} {
		if v := last.Header.Get(h); v != "" {
			t.Errorf("a change's message has header %s: %s, which its id holds", h, v)
		}
	}
	if last.Header.Get("Phoenixkitdb-Term") == "" {
		t.Error("a change's message has no term header")
	}

	proxy.Freeze()
	t.Cleanup(proxy.Thaw)
	a.Stop()
	poll(t, "the other instance to lead", b.cl.Leading)
	conn := connect(t, dbURL)
	poll(t, "the old leader's walsender to end", func() bool { _, active := slotState(t, conn, slot); return !active })
	exec(t, conn, `SELECT pg_drop_replication_slot($1)`, slot)
	// Committed while no slot exists: nobody will ever read it.
	run(`INSERT INTO items VALUES (2, 'lost')`)
	proxy.Thaw()
	waitReady(t, b)
	run(`INSERT INTO items VALUES (3, 'x')`)
	expectChanges(t, []*instance{b}, inserts(3, 4), []pubsub.Reason{cluster.ReasonSlotLost})
	if !strings.Contains(b.logs.String(), "replication slot the last leader read is gone") {
		t.Fatalf("no ERROR naming the lost slot:\n%s", b.logs)
	}
}
