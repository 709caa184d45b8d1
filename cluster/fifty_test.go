package cluster_test

import (
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/cluster"
)

// Fifty instances in one process: one LISTEN backend, and every
// instance's mailbox receives every change in commit order.
func TestFiftyInstancesReceiveEveryChange(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	var ins []*instance
	// A lease long enough that leadership never moves during the test:
	// it is about fan-out, and a NOTIFY change committed while the lease
	// changes hands is lost and announced, which this test does not
	// expect. Under the race detector on a loaded machine, fifty
	// instances starved a leader past a 1 s lease, and a 10 s one leaves
	// 6 s; with 30 s the leader would have to go unscheduled for 18 s.
	// (The first refresh, which says the leader is ready, comes after
	// LeaseTTL/5.) A failure says whether leadership moved.
	for range 50 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 30 * time.Second}}))
	}
	t.Cleanup(func() {
		if t.Failed() {
			var terms uint64
			for _, in := range ins {
				terms += in.cl.Stats().Terms
			}
			t.Logf("terms held by the fifty instances: %d (1 means leadership never moved)", terms)
		}
	})
	waitReady(t, ins...)
	conn := connect(t, url)
	oneListener(t, conn)
	const n = 100
	for i := range n {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChangesAnyResyncs(t, ins, inserts(0, n))
	oneListener(t, conn)
}
