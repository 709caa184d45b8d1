package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A lease refresh whose answer comes too late still rewrites the lease.
// The next refresh's compare-and-swap then finds a newer revision, which
// is this term's own: the leader must adopt it and keep leading, not step
// down as if another instance had taken the lease (in NOTIFY mode that
// cost a failover and a Resync). The server's answers are held until the
// refresh timed out, while the refresh itself reaches the server.
func TestLeaseRefreshLandedAfterTimeout(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	// A long lease: the leader steps down for staleness only after 3 s
	// without a refresh, far from the one timed-out refresh of this test.
	in := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 5 * time.Second}})
	t.Cleanup(in.sw.Release)
	waitReady(t, in)
	if !in.cl.Leading() {
		t.Fatal("not leading")
	}
	if ev := next(t, in.mb); ev.Kind != pubsub.Resync {
		t.Fatalf("first event %v, want the start Resync", ev)
	}

	in.sw.Hold()
	poll(t, "a lease refresh to time out", func() bool {
		return strings.Contains(in.logs.String(), "lease refresh failed")
	})
	in.sw.Release()
	poll(t, "the next refresh to adopt the landed revision, or the leader to step down", func() bool {
		l := in.logs.String()
		return strings.Contains(l, "adopting its revision") || strings.Contains(l, "no longer leading")
	})
	if strings.Contains(in.logs.String(), "no longer leading") || !in.cl.Leading() || in.cl.Stats().Terms != 1 {
		t.Fatalf("the leader stepped down after its own late refresh:\n%s", in.logs.String())
	}
	// Changes still flow, with no Resync.
	run(`INSERT INTO items VALUES (1, 'x')`)
	if ev := next(t, in.mb); ev.String() != "public.items:INSERT:1" {
		t.Fatalf("got %v, want the change", ev)
	}
	if strings.Contains(in.logs.String(), "no longer leading") {
		t.Fatalf("the leader stepped down:\n%s", in.logs.String())
	}
}
