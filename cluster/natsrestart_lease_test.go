package cluster_test

import (
	"testing"
	"time"
)

// After a NATS server restart the client's key-value watches of the
// lease lag many seconds behind (their ordered consumers are re-created
// only once heartbeats are missed). An election that waited for the
// watch to report the lease's new revision after a failed swap stayed
// leaderless that long when the leader then stopped: the instances must
// read the lease themselves and take over within the usual bound.
func TestTakeoverAfterNATSRestart(t *testing.T) {
	ns := startNATS(t)
	url, _ := notifyDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{}))
	}
	waitReady(t, ins...)
	ns2 := restartNATS(t, ns)
	for _, in := range ins {
		in.sw.SetServer(ns2)
	}
	poll(t, "every follower to consume again", func() bool {
		for _, in := range ins {
			if !in.db.Changes().Connected() {
				return false
			}
		}
		return true
	})
	var old *instance
	poll(t, "a leader after the restart", func() bool { old = leaderOf(t, ins); return old != nil })
	start := time.Now()
	old.Stop()
	_, took := waitNewLeader(t, ins, old, start)
	t.Logf("takeover took %v", took)
	if took > takeover {
		t.Fatalf("takeover after a NATS restart took %v, more than %v", took, takeover)
	}
}
