package cluster_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"net/url"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// proxied returns an instanceOpts rewriting the database URL through a
// new proxy, and the proxy; t.Cleanup closes it.
func proxied(t *testing.T, dbURL string) (*pgtest.Proxy, func(string) string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pgtest.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, p.URL
}

// WAL source: the leader "crashes" (its PostgreSQL and NATS paths die at
// once, so it neither confirms its last position to the slot nor releases
// the lease) while idle. The new leader replays from the slot's confirmed
// position; followers still see every change once, in order, and no
// Resync besides their own start.
func TestWALLeaderCrashNoDuplicate(t *testing.T) {
	ns := startNATS(t)
	dbURL, run := walDB(t)
	var ins []*instance
	proxies := map[*instance]*pgtest.Proxy{}
	for range 3 {
		p, rewrite := proxied(t, dbURL)
		in := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL, dbURL: rewrite})
		ins = append(ins, in)
		proxies[in] = p
	}
	waitReady(t, ins...)
	for i := range 30 {
		run(`INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $1::bigint + 2) g`, i*3)
	}
	// Every follower has everything: the leader's relay is empty.
	expectChanges(t, ins, inserts(0, 90), []pubsub.Reason{"start"})
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	start := time.Now()
	proxies[old].Freeze()
	old.sw.Cut()
	poll(t, "the old leader to step down", func() bool { return !old.cl.Leading() })
	// Its walsender must go for the slot to be free.
	proxies[old].CutAll()
	_, took := waitNewLeader(t, ins, old, start)
	t.Logf("takeover took %v", took)
	if took > takeover {
		t.Fatalf("takeover took %v, more than %v", took, takeover)
	}
	rest := others(ins, old)
	waitReady(t, rest...)
	for i := 30; i < 40; i++ {
		run(`INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $1::bigint + 2) g`, i*3)
	}
	expectChanges(t, rest, inserts(90, 120), nil)
}
