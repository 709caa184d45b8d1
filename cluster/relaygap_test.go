package cluster_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// WAL source: the leader loses NATS while a writer commits, so its source
// hands changes to a relay that cannot store them, and then stops. The
// slot must not have been confirmed past what the stream stored: the next
// leader reads those changes again, and followers see every change once,
// in order, with no Resync besides their own start.
//
// The lease lasts 5 s: a leader cut off from NATS stops its source after
// 3/5 of it, and with the default 1 s a loaded machine (PostgreSQL 16 in
// the version matrix) committed and decoded the 30 changes too slowly for
// the source to hand them all over first.
func TestWALLeaderGoneWithUnstoredChangesLosesNothing(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	dbURL, run := walDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL,
			cluster: cluster.Config{LeaseTTL: 5 * time.Second}}))
	}
	waitReady(t, ins...)
	t.Cleanup(func() {
		if t.Failed() {
			for i, in := range ins {
				t.Logf("instance %d (%s): %+v\n%s", i, in.cl.ID(), in.cl.Stats(), in.logs)
			}
		}
	})
	insert := func(from, to int) {
		for i := from; i < to; i += 3 {
			run(`INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $1::bigint + 2) g`, i)
		}
	}
	insert(0, 30)
	expectChanges(t, ins, inserts(0, 30), []pubsub.Reason{"start"})
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	src, ok := old.cl.Source().(*replication.Source)
	if !ok {
		t.Fatalf("source %T", old.cl.Source())
	}
	old.sw.Cut()
	insert(30, 60)
	// Every one of them reached the old leader's relay, which cannot
	// store them.
	poll(t, "the old leader's source to hand over 60 changes", func() bool { return src.Stats().Published >= 60 })
	start := time.Now()
	// A clean stop: the source confirms its last position (without the
	// limit, all 60 changes), the relay's drain fails for lack of NATS.
	old.Stop()
	if st := old.cl.Stats(); st.Published > 30+1 {
		t.Fatalf("the old relay stored %d events with NATS cut", st.Published)
	}
	_, took := waitNewLeader(t, ins, old, start)
	t.Logf("takeover took %v", took)
	rest := others(ins, old)
	waitReady(t, rest...)
	expectChanges(t, rest, inserts(30, 60), nil)
	insert(60, 90)
	expectChanges(t, rest, inserts(60, 90), nil)
}

// WAL source, one instance: the leader loses NATS with changes in its
// relay, steps down, and leads again once NATS is back. Its source must
// not skip what it handed to the relay of the lost term: the changes
// arrive once, in order, with no Resync besides the start.
func TestWALLeaderLeadsAgainAfterLosingNATSLosesNothing(t *testing.T) {
	t.Parallel() // waiting-bound; its own NATS server and PostgreSQL
	ns := startNATS(t)
	dbURL, run := walDB(t)
	// The leader's own clock ends its term 3/5 of LeaseTTL after its
	// last refresh, and the source must have handed the changes written
	// after the cut over by then: 10 s leaves at least 4 s for ten
	// commits and their decoding (the default 1 s left 0.4 s, which a
	// loaded machine overran: the source stopped with changes unread).
	in := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL,
		cluster: cluster.Config{LeaseTTL: 10 * time.Second}})
	waitReady(t, in)
	insert := func(from, to int) {
		for i := from; i < to; i += 3 {
			run(`INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $1::bigint + 2) g`, i)
		}
	}
	insert(0, 30)
	expectChanges(t, []*instance{in}, inserts(0, 30), []pubsub.Reason{"start"})
	src := in.cl.Source().(*replication.Source)
	terms := in.cl.Stats().Terms
	in.sw.Cut()
	insert(30, 60)
	poll(t, "the source to hand over 60 changes", func() bool { return src.Stats().Published >= 60 })
	poll(t, "the leader to step down", func() bool { return !in.cl.Leading() })
	in.sw.Restore()
	poll(t, "a new term", func() bool { return in.cl.Stats().Terms > terms && in.cl.Leading() })
	expectChanges(t, []*instance{in}, inserts(30, 60), nil)
	insert(60, 90)
	expectChanges(t, []*instance{in}, inserts(60, 90), nil)
}
