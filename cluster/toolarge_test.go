package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// WAL source, a NATS server whose max_payload is 64 KiB: a change whose
// message cannot fit reaches followers as a Resync (ReasonTooLarge) in
// its place, between the changes around it, alone in its transaction or
// in the middle of one; the leader logs an ERROR naming the table and the
// size and counts it in Stats; later changes flow and the slot is
// confirmed past it.
func TestTooLargeChangeBecomesResync(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATSWith(t, server.Options{MaxPayload: 64 << 10})
	dbURL, run := walDB(t)
	ins := []*instance{
		newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL}),
		newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL}),
	}
	waitReady(t, ins...)
	leader := leaderOf(t, ins)
	if leader == nil {
		t.Fatal("no leader")
	}
	const big = 100 << 10 // more than max_payload on its own
	run(`INSERT INTO items VALUES (1, 'a')`)
	run(`INSERT INTO items VALUES (2, repeat('x', $1))`, big)
	run(`INSERT INTO items VALUES (3, 'c')`)
	run(`INSERT INTO items VALUES (4, 'd'), (5, repeat('y', $1)), (6, 'f')`, big)
	run(`INSERT INTO items VALUES (7, 'g')`)

	tooLarge := "Resync(" + string(cluster.ReasonTooLarge) + ")"
	want := []string{"Resync(start)", "public.items:INSERT:1", tooLarge, "public.items:INSERT:3",
		"public.items:INSERT:4", tooLarge, "public.items:INSERT:6", "public.items:INSERT:7"}
	var last pubsub.Event
	for i, in := range ins {
		var got []string
		for len(got) < len(want) {
			ev := next(t, in.mb)
			got = append(got, ev.String())
			last = ev
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("instance %d got %v, want %v\n%s", i, got, want, leader.logs.String())
		}
	}
	if st := leader.cl.Stats(); st.TooLarge != 2 {
		t.Fatalf("Stats().TooLarge = %d, want 2", st.TooLarge)
	}
	logs := leader.logs.String()
	if n := strings.Count(logs, "level=ERROR msg=\"cluster: a change is larger than the NATS server's max_payload"); n != 2 {
		t.Fatalf("%d ERROR lines for a too large change, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, "table=items") || !strings.Contains(logs, "max_payload=65536") {
		t.Fatalf("the ERROR line does not name the table and the limit:\n%s", logs)
	}
	// The slot moves past the large changes.
	src, ok := leader.cl.Source().(*replication.Source)
	if !ok {
		t.Fatalf("source %T", leader.cl.Source())
	}
	conn := connect(t, dbURL)
	lsn := last.LSN.String()
	poll(t, "the slot to be confirmed past the large changes", func() bool {
		var past bool
		err := conn.QueryRow(context.Background(),
			`SELECT coalesce(confirmed_flush_lsn >= $1::pg_lsn, false) FROM pg_replication_slots WHERE slot_name = $2`,
			lsn, src.Slot()).Scan(&past)
		if err != nil {
			t.Fatal(err)
		}
		return past
	})
}
