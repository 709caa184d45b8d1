package cluster_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
)

// testJS is a JetStream context on a test connection of its own.
func testJS(t *testing.T, ns *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamState reads the default stream's state from the server.
func streamState(t *testing.T, js jetstream.JetStream) jetstream.StreamState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State
}

// The stream is deleted while instances run (one follower cut off from
// NATS meanwhile). The leader creates it again with the configured
// settings when it next publishes; every follower, the cut-off one once
// back, gets one Resync (ReasonStreamReset) and then the changes written
// since, from the new stream's start; Stats report positions in the new
// stream, with no lag. Before, followers skipped every new sequence up to
// their old position as a redelivery and reported healthy.
//
// The cut-off follower's client resets its consumer when it reconnects,
// at the moment the follower finds the stream reset: it once waited
// forever on a consumer created after its Stop (1 run in 4).
func TestStreamDeletedAndRecreated(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{MaxAge: 30 * time.Minute})
	both := []*instance{leader, follower}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("follower's log:\n%s\nleader's log:\n%s", follower.logs.String(), leader.logs.String())
		}
	})
	for i := range 10 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, both, inserts(0, 10), nil)
	js := testJS(t, ns)
	before := streamState(t, js)

	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.db.Changes().Connected() })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := js.DeleteStream(ctx, cluster.DefaultStream); err != nil {
		t.Fatal(err)
	}
	// Changes written while the stream is missing: the leader's relay
	// creates it again.
	run(`INSERT INTO items VALUES (10, 'x')`)
	run(`INSERT INTO items VALUES (11, 'x')`)
	expectChanges(t, []*instance{leader}, inserts(10, 12), []pubsub.Reason{cluster.ReasonStreamReset})
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 30*time.Minute {
		t.Fatalf("recreated stream's MaxAge %v, want the configured 30m", got)
	}
	if st := streamState(t, js); st.LastSeq >= before.LastSeq {
		t.Fatalf("the new stream's last sequence %d is not below the old one's %d", st.LastSeq, before.LastSeq)
	}
	follower.sw.Restore()
	expectChanges(t, []*instance{follower}, inserts(10, 12), []pubsub.Reason{cluster.ReasonStreamReset})

	run(`INSERT INTO items VALUES (12, 'x')`)
	expectChanges(t, both, inserts(12, 13), nil)
	last := streamState(t, js).LastSeq
	for i, in := range both {
		poll(t, "Stats to catch up", func() bool { return in.cl.Stats().Position == last })
		if st := in.cl.Stats(); st.StreamLast != last || st.Lag != 0 {
			t.Fatalf("instance %d: Stats %+v, want position and stream last %d, no lag", i, st, last)
		}
	}
}
