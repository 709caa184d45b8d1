package cluster_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
)

// WAL source: the leader's host vanishes (its PostgreSQL and NATS paths
// frozen, not closed, so its walsender keeps the slot until the server's
// wal_sender_timeout, 60 s by default). The next leader ends that
// walsender once it holds the lease, and its source reads the slot within
// LeaseTTL + 2 s; changes flow again. Before, the takeover took about
// 60 s.
func TestWALTakeoverWhenLeaderHostVanishes(t *testing.T) {
	ns := startNATS(t)
	dbURL, run := walDB(t)
	proxy, rewrite := proxied(t, dbURL)
	a := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL, dbURL: rewrite})
	waitReady(t, a)
	if !a.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	b := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	waitReady(t, a, b)
	run(`INSERT INTO items VALUES (1, 'x')`)
	expectChanges(t, []*instance{a, b}, inserts(1, 2), []pubsub.Reason{"start"})

	start := time.Now()
	proxy.Freeze()
	t.Cleanup(proxy.Thaw)
	a.sw.Freeze()
	t.Cleanup(a.sw.Release)
	poll(t, "the next leader's source to read the slot", func() bool { return b.cl.Leading() && b.cl.Source().Ready() })
	took := time.Since(start)
	t.Logf("takeover took %v", took)
	if bound := cluster.DefaultLeaseTTL + 2*time.Second; took > bound {
		t.Fatalf("takeover took %v, more than %v", took, bound)
	}
	run(`INSERT INTO items VALUES (2, 'x')`)
	expectChanges(t, []*instance{b}, inserts(2, 3), nil)
}
