package cluster_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A leader that stops cleanly relays what its source handed over, but
// only while its lease still holds: once another instance may lead, two
// relays publishing at once would interleave the old leader's changes
// with the new one's, and followers would read changes out of commit
// order. Here the stopping leader's relay holds a backlog (a burst of
// 30,000 changes) it cannot publish (its NATS path is cut) when it stops;
// the path heals after the next leader took over and published changes
// committed after the takeover: no follower may read an old change after
// a new one.
func TestStoppingLeaderDoesNotPublishAfterTheTakeover(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{mbCap: 200_000}))
	}
	waitReady(t, ins...)
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	run(`INSERT INTO items SELECT g, 'x' FROM generate_series(0, 29999) g`)
	poll(t, "the leader's relay to start on the burst", func() bool { return old.cl.Stats().Published > 0 })
	old.sw.Cut()
	start := time.Now()
	stopped := make(chan struct{})
	go func() { defer close(stopped); old.Stop() }()
	waitNewLeader(t, ins, old, start)
	// The new leader's LISTEN is up: what follows is committed after it.
	waitReady(t, others(ins, old)...)
	const newFrom, fence = 1_000_000, 2_000_000
	for i := range 20 {
		run(`INSERT INTO items VALUES ($1, 'x')`, newFrom+i)
	}
	old.sw.Restore()
	<-stopped // everything the old leader relays is in the stream now
	run(`INSERT INTO items VALUES ($1, 'x')`, fence)
	for i, in := range others(ins, old) {
		seenNew := 0
		for {
			ev := next(t, in.mb)
			if ev.Kind == pubsub.Resync {
				continue
			}
			id, err := strconv.Atoi(ev.RowID)
			if err != nil || !strings.HasPrefix(ev.String(), "public.items:INSERT:") {
				t.Fatalf("instance %d read %v", i, ev)
			}
			if id == fence {
				break
			}
			if id >= newFrom {
				seenNew = id
			} else if seenNew != 0 {
				t.Fatalf("instance %d read %v after %d, committed after the takeover: the old leader still published", i, ev, seenNew)
			}
		}
	}
}
