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
	t.Cleanup(func() {
		if t.Failed() {
			var terms uint64
			for _, in := range ins {
				terms += in.cl.Stats().Terms
			}
			t.Logf("terms held by the fifty instances: %d (1 means leadership never moved)", terms)
		}
	})
	// Ten at a time, each ten ready before the next start: fifty setting
	// up their streams, consumers and leases at once kept the JetStream
	// API of a loaded machine so busy that the first instance's setup
	// timed out again and again (5 s a call) and it was not ready within
	// a minute.
	for range 5 {
		batch := make([]*instance, 10)
		for i := range batch {
			batch[i] = newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 30 * time.Second}})
		}
		ins = append(ins, batch...)
		waitReady(t, batch...)
	}
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
