package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// twoInstances starts two instances on a NOTIFY database and returns the
// leader, the follower and the function that runs SQL, with both
// mailboxes drained of their first Resyncs. Unless cfg sets one, the
// lease is 5 s: these tests expect the leader to stay, and with the
// default 1 s a leader the race detector and a loaded machine leave
// unscheduled for 0.6 s steps down (a NOTIFY takeover's Resync(listen)
// then comes where a change was expected).
func twoInstances(t *testing.T, ns *server.Server, cfg cluster.Config) (leader, follower *instance, run func(string, ...any)) {
	t.Helper()
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	url, run := notifyDB(t)
	a := newInstance(t, ns, url, instanceOpts{cluster: cfg})
	b := newInstance(t, ns, url, instanceOpts{cluster: cfg})
	waitReady(t, a, b)
	leader = leaderOf(t, []*instance{a, b})
	follower = a
	if leader == a {
		follower = b
	}
	// A first change flushes the Resyncs of the start out of both mailboxes.
	run(`INSERT INTO items VALUES (-1, 'x')`)
	expectChangesAnyResyncs(t, []*instance{a, b}, []string{"public.items:INSERT:-1"})
	return leader, follower, run
}

// A follower cut off from NATS for a while receives, once back, every
// change published meanwhile, from the next stream sequence, with no
// Resync.
func TestFollowerResumesWithoutResync(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{})
	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.db.Changes().Connected() })
	for i := range 10 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 10), nil)
	if follower.cl.Stats().Position >= leader.cl.Stats().Position {
		t.Fatal("the cut-off follower advanced")
	}
	follower.sw.Restore()
	expectChanges(t, []*instance{follower}, inserts(0, 10), nil)
	if got, want := follower.cl.Stats().Position, leader.cl.Stats().Position; got != want {
		t.Fatalf("follower at stream sequence %d, leader's follower at %d", got, want)
	}
}

// A follower away longer than the stream keeps changes (MaxAge) gets a
// Resync (ReasonGap) before the first change it can still read.
func TestFollowerAwayLongerThanMaxAgeGetsResync(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{MaxAge: time.Second})
	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.db.Changes().Connected() })
	for i := range 5 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 5), nil)
	waitStreamEmpty(t, ns)
	follower.sw.Restore()
	poll(t, "the follower to reconnect", func() bool { return follower.db.Changes().Connected() })
	run(`INSERT INTO items VALUES (5, 'x')`)
	ev := next(t, follower.mb)
	if ev.Kind != pubsub.Resync || ev.Reason != cluster.ReasonGap {
		t.Fatalf("first event after the return: %v, want Resync(%s)", ev, cluster.ReasonGap)
	}
	if ev := next(t, follower.mb); ev.String() != "public.items:INSERT:5" {
		t.Fatalf("then %v, want the change written after the return", ev)
	}
}

// A follower back after its unread messages aged out is told at once,
// not when the next message arrives: it looks at the stream's first
// sequence when it reconnects. Nothing is written after its return.
func TestFollowerAwayLongerThanMaxAgeToldAtOnce(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{MaxAge: time.Second})
	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.db.Changes().Connected() })
	for i := range 5 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 5), nil)
	waitStreamEmpty(t, ns)
	follower.sw.Restore()
	ev := next(t, follower.mb)
	if ev.Kind != pubsub.Resync || ev.Reason != cluster.ReasonGap {
		t.Fatalf("first event after the return: %v, want Resync(%s)", ev, cluster.ReasonGap)
	}
	if st := follower.cl.Stats(); st.Lag != 0 {
		t.Fatalf("Stats after the gap: %+v, want no lag", st)
	}
	// The next change comes without a second Resync.
	run(`INSERT INTO items VALUES (5, 'x')`)
	if ev := next(t, follower.mb); ev.String() != "public.items:INSERT:5" {
		t.Fatalf("then %v, want the change written after the return", ev)
	}
}

// waitStreamEmpty polls the default stream until MaxAge removed every
// message.
func waitStreamEmpty(t *testing.T, ns *server.Server) {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "messages to age out", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, cluster.DefaultStream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
}

// A NATS server restart with file storage loses nothing: changes a
// follower had not read before the restart reach it afterwards, with no
// gap Resync.
func TestNATSRestartWithFileStorageLosesNothing(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{})
	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.db.Changes().Connected() })
	for i := range 10 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 10), nil)
	ns2 := restartNATS(t, ns)
	leader.sw.SetServer(ns2)
	follower.sw.SetServer(ns2)
	follower.sw.Restore()
	got, resyncs := changesOnly(t, follower.mb, 10)
	if strings.Join(got, ",") != strings.Join(inserts(0, 10), ",") {
		t.Fatalf("after the restart the follower got %v", got)
	}
	for _, r := range resyncs {
		if r == string(cluster.ReasonGap) {
			t.Fatalf("gap Resync after a restart with file storage: %v", resyncs)
		}
	}
}
