package cluster_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
)

// Instances configured with different LeaseTTLs: the leader's is 5 s, so
// it refreshes its lease every second; the other's is 500 ms. Timed by
// its own LeaseTTL alone, the other instance found the healthy leader's
// lease stale half a second after each refresh and took it. The lease
// names its holder's LeaseTTL, and the other instance waits for that.
func TestShorterLeaseTTLWaitsForTheHolders(t *testing.T) {
	ns := startNATS(t)
	url, _ := notifyDB(t)
	b := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 5 * time.Second}})
	waitReady(t, b)
	if !b.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	a := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 500 * time.Millisecond}})
	waitReady(t, a, b)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	kv, err := testJS(t, ns).KeyValue(ctx, cluster.DefaultStream+"_LEADER")
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(ctx, "leader")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	// Four refreshes of the leader's, about four of its refresh
	// intervals: eight of the other instance's LeaseTTLs.
	refreshes := 0
	for refreshes < 4 {
		var ent jetstream.KeyValueEntry
		select {
		case ent = <-w.Updates():
			if ent == nil {
				continue // the watch's initial values are in
			}
		case <-ctx.Done():
			t.Fatalf("%d refreshes of the lease seen", refreshes)
		}
		var l struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(ent.Value(), &l); err != nil {
			t.Fatal(err)
		}
		if l.ID != b.cl.ID() {
			t.Fatalf("the lease went to %s (the leader is %s, the other instance %s):\n%s", l.ID, b.cl.ID(), a.cl.ID(), a.logs)
		}
		refreshes++
	}
	if !b.cl.Leading() || a.cl.Stats().Terms != 0 {
		t.Fatalf("leader leading %v, other instance's terms %d:\n%s", b.cl.Leading(), a.cl.Stats().Terms, a.logs)
	}
}
