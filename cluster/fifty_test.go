package cluster_test

import (
	"testing"
)

// Fifty instances in one process: one LISTEN backend, and every
// instance's mailbox receives every change in commit order.
func TestFiftyInstancesReceiveEveryChange(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	var ins []*instance
	for range 50 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{}))
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
