package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// takeover is the failover bound the module promises.
const takeover = 2 * time.Second

// waitNewLeader waits for an instance of ins other than old to lead and
// returns it with the time it took from since.
func waitNewLeader(t *testing.T, ins []*instance, old *instance, since time.Time) (*instance, time.Duration) {
	t.Helper()
	var l *instance
	poll(t, "a new leader", func() bool {
		for _, in := range ins {
			if in != old && in.cl.Leading() {
				l = in
				return true
			}
		}
		return false
	})
	return l, time.Since(since)
}

// others returns ins without x.
func others(ins []*instance, x *instance) []*instance {
	return slices.DeleteFunc(slices.Clone(ins), func(in *instance) bool { return in == x })
}

// drainChanges reads n changes from every instance and checks them.
func expectChanges(t *testing.T, ins []*instance, want []string, wantResyncs []pubsub.Reason) {
	t.Helper()
	for i, in := range ins {
		got, resyncs := changesOnly(t, in.mb, len(want))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("instance %d got %v, want %v", i, got, want)
		}
		if fmt.Sprint(resyncs) != fmt.Sprint(wantResyncs) {
			t.Fatalf("instance %d Resyncs %v, want %v", i, resyncs, wantResyncs)
		}
	}
}

func inserts(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("public.items:INSERT:%d", i))
	}
	return s
}

// testNotifyFailover runs three instances, makes the leader go by stop,
// and checks that another leads within 2 s, that followers get exactly one
// Resync (the new leader's LISTEN) and then every change, and that one
// LISTEN backend remains.
func testNotifyFailover(t *testing.T, stop func(t *testing.T, leader *instance)) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{}))
	}
	waitReady(t, ins...)
	for i := range 10 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	// The Resyncs before the first changes (the follower's start, the
	// first leader's LISTEN) may be coalesced: they are not counted.
	expectChangesAnyResyncs(t, ins, inserts(0, 10))
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	// Sample the instances' change sources through the failover: never
	// two connected at once. (pg_stat_activity cannot tell a LISTEN
	// backend from the Listener's short-lived probe connections.)
	sampled := make(chan int)
	stopSampling := make(chan struct{})
	go func() {
		most := 0
		defer func() { sampled <- most }()
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(time.Millisecond):
			}
			most = max(most, connectedSources(ins))
		}
	}()
	start := time.Now()
	stop(t, old)
	_, took := waitNewLeader(t, ins, old, start)
	rest := others(ins, old)
	waitReady(t, rest...)
	close(stopSampling)
	if most := <-sampled; most > 1 {
		t.Fatalf("%d change sources connected at once during the failover", most)
	}
	t.Logf("takeover took %v", took)
	if took > takeover {
		t.Fatalf("takeover took %v, more than %v", took, takeover)
	}
	for i := 10; i < 20; i++ {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, rest, inserts(10, 20), []pubsub.Reason{"listen"})
	conn := connect(t, url)
	oneListener(t, conn)
}

func TestNotifyFailoverLeaderStops(t *testing.T) {
	testNotifyFailover(t, func(t *testing.T, leader *instance) { leader.Stop() })
}

func TestNotifyFailoverLeaderLosesNATS(t *testing.T) {
	testNotifyFailover(t, func(t *testing.T, leader *instance) { leader.sw.Cut() })
}

// walDB starts a PostgreSQL server with wal_level=logical and returns the
// URL of a database with table public.items in publication phoenixkitdb.
func walDB(t *testing.T) (string, func(sql string, args ...any)) {
	t.Helper()
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"wal_level": "logical"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url := srv.URL("postgres")
	conn := connect(t, url)
	exec(t, conn, `CREATE TABLE items (id bigint PRIMARY KEY, name text)`)
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb", pgsql.Table{Schema: "public", Name: "items"}); err != nil {
		t.Fatal(err)
	}
	return url, func(sql string, args ...any) { exec(t, conn, sql, args...) }
}

// WAL source: while a writer commits three-row transactions, the leader
// stops; followers receive every change once, in commit order, and no
// Resync besides their own start.
func TestWALFailoverNoLossNoDuplicate(t *testing.T) {
	ns := startNATS(t)
	url, run := walDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL}))
	}
	waitReady(t, ins...)
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	const txs = 100
	written := make(chan int, txs)
	go func() {
		defer close(written)
		for i := range txs {
			run(`INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $1::bigint + 2) g`, i*3)
			written <- i
		}
	}()
	// Stop the leader a third of the way through.
	for i := range written {
		if i == txs/3 {
			start := time.Now()
			old.Stop()
			_, took := waitNewLeader(t, ins, old, start)
			t.Logf("takeover took %v", took)
			if took > takeover {
				t.Fatalf("takeover took %v, more than %v", took, takeover)
			}
		}
	}
	expectChanges(t, others(ins, old), inserts(0, txs*3), []pubsub.Reason{"start"})
}

// expectChangesAnyResyncs is expectChanges ignoring Resyncs.
func expectChangesAnyResyncs(t *testing.T, ins []*instance, want []string) {
	t.Helper()
	for i, in := range ins {
		got, _ := changesOnly(t, in.mb, len(want))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("instance %d got %v, want %v", i, got, want)
		}
	}
}
