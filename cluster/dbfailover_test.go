package cluster_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// failoverVersion is the first server_version_num with failover slots.
const failoverVersion = 170000

// The database fails over under a cluster in WAL mode: the leader's
// source reads a primary (through a proxy, as a virtual address would
// route it) that crashes; its physical standby, which has replayed
// everything, is promoted and the proxy moved to it. Ten changes were
// committed and replicated after the leader last read the primary. On
// PostgreSQL 17 and later, with WALFailoverSlot, the standby holds a
// synchronised copy of the slot: every instance gets those changes once,
// in order, with no Resync. Before 17 the promoted standby has no slot:
// the changes are gone, and every instance is told with one Resync
// (ReasonSlot) before the new primary's changes, never a silent gap. The
// same as replication's TestFailoverSlotSurvivesPromotion and
// TestFailoverWithoutFailoverSlotResyncs, through the cluster's leader.
func TestWALClusterDatabaseFailover(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Close() })
	version, err := primary.VersionNum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slots := version >= failoverVersion
	var settings map[string]string
	if slots {
		settings = map[string]string{"sync_replication_slots": "on"}
	}
	standby, err := primary.StartStandby(ctx, pgtest.StandbyOptions{Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Close() })
	direct := connect(t, primary.URL("postgres"))
	if slots {
		exec(t, direct, `ALTER SYSTEM SET synchronized_standby_slots = '`+pgtest.DefaultStandbySlot+`'`)
		if err := primary.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, direct, `CREATE TABLE items (id bigint PRIMARY KEY, name text)`)
	if err := replication.EnsurePublication(ctx, direct, "phoenixkitdb", pgsql.Table{Schema: "public", Name: "items"}); err != nil {
		t.Fatal(err)
	}
	proxy, err := pgtest.NewProxy(net.JoinHostPort(primary.Host(), strconv.Itoa(primary.Port())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	url := proxy.URL(primary.URL("postgres"))

	ns := startNATS(t)
	opts := instanceOpts{source: phoenixkitdb.SourceWAL, dbConfig: func(c *phoenixkitdb.Config) {
		// Before 17 it only warns: the slot is an ordinary one.
		c.WAL.FailoverSlot = true
		// Positions confirmed often, for the standby's copy of the slot.
		c.WAL.StatusInterval = 100 * time.Millisecond
	}}
	leader := newInstance(t, ns, url, opts)
	waitReady(t, leader)
	follower := newInstance(t, ns, url, opts)
	waitReady(t, leader, follower)
	both := []*instance{leader, follower}
	if !leader.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("leader's log:\n%s\nfollower's log:\n%s", leader.logs, follower.logs)
		}
	})
	insertRows := func(conn *pgx.Conn, from, to int) {
		for i := from; i < to; i++ {
			exec(t, conn, `INSERT INTO items VALUES ($1, 'x')`, i)
		}
	}
	insertRows(direct, 0, 10)
	expectChangesAnyResyncs(t, both, inserts(0, 10))
	nextEvent := next // the helper, before next names the next row id
	next := 10
	if slots {
		next = waitSlotSynced(t, direct, standby, both, next)
	}

	// Committed and replicated, never read by the leader's source: its
	// path to the primary is frozen.
	proxy.Freeze()
	insertRows(direct, next, next+10)
	if err := pgtest.WaitReplayed(ctx, primary, standby); err != nil {
		t.Fatal(err)
	}
	if err := primary.StopContext(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	proxy.SetTarget(net.JoinHostPort(standby.Host(), strconv.Itoa(standby.Port())))
	proxy.CutAll()
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Thaw()

	promoted := connect(t, url)
	if slots {
		expectChanges(t, both, inserts(next, next+10), nil)
		insertRows(promoted, next+10, next+20)
		expectChanges(t, both, inserts(next+10, next+20), nil)
		return
	}
	// The loss is announced once the leader's source has recreated its slot
	// on the new primary: from then on every change is captured. (Its
	// readiness alone may still be the old connection's.)
	for i, in := range both {
		if ev := nextEvent(t, in.mb); ev.Kind != pubsub.Resync || ev.Reason != pubsub.ReasonSlot {
			t.Fatalf("instance %d: %v after the promotion, want Resync(%s)", i, ev, pubsub.ReasonSlot)
		}
	}
	insertRows(promoted, next+10, next+20)
	expectChanges(t, both, inserts(next+10, next+20), nil)
}

// waitSlotSynced waits until the standby holds a synchronised, persistent
// copy of the cluster's slot, and returns the next id to insert. The copy
// needs a running-transactions record (pg_log_standby_snapshot) and then
// a position the leader confirms past it (see replication's
// waitSynced): each round writes both, one row each, read by every
// instance.
func waitSlotSynced(t *testing.T, primary *pgx.Conn, standby *pgtest.Server, ins []*instance, next int) int {
	t.Helper()
	conn := connect(t, standby.URL("postgres"))
	deadline := time.Now().Add(waitFor)
	for {
		var ok bool
		if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_replication_slots
	WHERE slot_name = $1 AND synced AND NOT temporary)`, replication.DefaultSlot).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has no synchronised copy of the slot; its log:\n%s", standby.LogTail(30))
		}
		exec(t, primary, `SELECT pg_log_standby_snapshot()`)
		exec(t, primary, `INSERT INTO items VALUES ($1, 'x')`, next)
		expectChanges(t, ins, inserts(next, next+1), nil)
		next++
		time.Sleep(100 * time.Millisecond) // about one status update of the leader's source
	}
}
