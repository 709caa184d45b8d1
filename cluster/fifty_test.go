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
	// A long lease: the test is about fan-out, and under the race
	// detector on a busy machine fifty instances can starve a leader past
	// the default 1 s (a NOTIFY change committed while the lease changes
	// hands is lost and announced, which this test does not expect).
	for range 50 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: 10 * time.Second}}))
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
