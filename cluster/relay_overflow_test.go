package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// When the stream does not keep up with the change source, the leader's
// relay mailbox overflows: followers get a Resync and the leader logs one
// WARN naming RelayCapacity (the module's private PubSub is never served,
// so the PubSub's own report never runs). The server's answers to the
// leader are held, so that its relay stops taking events while a burst
// comes in.
func TestRelayOverflowWarns(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	// A long lease: holding the server's answers also holds the refreshes.
	in := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 10 * time.Second, RelayCapacity: 8}})
	t.Cleanup(in.sw.Release)
	waitReady(t, in)
	if ev := next(t, in.mb); ev.Kind != pubsub.Resync {
		t.Fatalf("first event %v, want the start Resync", ev)
	}
	lis := in.cl.Source().(*listener.Listener)
	base := lis.Stats().Published

	in.sw.Hold()
	// More than the relay's publish window and its mailbox hold.
	const n = 2000
	run(`INSERT INTO items SELECT g, 'x' FROM generate_series(1, $1::int) g`, n)
	poll(t, "the source to hand the burst over", func() bool { return lis.Stats().Published >= base+n })
	in.sw.Release()

	poll(t, "the overflow WARN", func() bool { return strings.Contains(in.logs.String(), "RelayCapacity") })
	poll(t, "the overflow Resync at the follower", func() bool {
		for {
			select {
			case ev := <-in.mb.C():
				if ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonOverflow {
					return true
				}
			default:
				return false
			}
		}
	})
	if c := strings.Count(in.logs.String(), "RelayCapacity"); c != 1 {
		t.Fatalf("%d overflow WARNs, want 1:\n%s", c, in.logs.String())
	}
	if !strings.Contains(in.logs.String(), "level=WARN") {
		t.Fatal("not a WARN")
	}
}
