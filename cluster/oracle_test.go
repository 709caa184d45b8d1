package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/oracle"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// TestWALOracleThroughCluster is internal/oracle's differential test
// through the cluster: the leader's WAL source streams the workload (every
// built-in type, TOAST, replica identities, TRUNCATE, ALTER TABLE,
// partitions, savepoints, two-phase commit), the follower receives it
// through NATS JetStream, and both mailboxes must hold exactly what
// PostgreSQL's test_decoding decoded from a slot created at the same
// point: the same changes in the same order, positions, column states and
// texts. Rerun a failure with the seed it prints (-run and -oracle.seed
// are not wired here: edit the seed).
func TestWALOracleThroughCluster(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "max_prepared_transactions": "10",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url := srv.URL("postgres")
	conn := connect(t, url)

	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	w := oracle.NewWorkload(oracle.WorkloadOptions{Seed: seed})
	for _, stmt := range w.Schema() {
		exec(t, conn, stmt)
	}
	// The publication the DB module streams by default: every table,
	// partitions as their root.
	exec(t, conn, `CREATE PUBLICATION phoenixkitdb FOR ALL TABLES WITH (publish_via_partition_root = true)`)
	const oracleSlot = "oracle"
	if err := oracle.CreateSlot(ctx, conn, oracleSlot); err != nil {
		t.Fatal(err)
	}
	// The leader's Source finds its slot made at the oracle's point.
	if err := oracle.CreateSourceSlot(ctx, conn, replication.DefaultSlot); err != nil {
		t.Fatal(err)
	}

	ns := startNATS(t)
	ins := []*instance{
		newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL, mbCap: 1 << 20, messages: true}),
		newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL, mbCap: 1 << 20, messages: true}),
	}
	for _, in := range ins {
		for _, p := range oracle.MessagePrefixes() {
			if err := in.db.Replication().SubscribeMessages(in.mb, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitReady(t, ins...)
	poll(t, "a leader", func() bool { return leaderOf(t, ins) != nil })
	leader := leaderOf(t, ins)

	if err := w.Run(ctx, conn); err != nil {
		t.Fatal(err)
	}
	fence, err := w.Fence(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	events := make([][]pubsub.Event, len(ins))
	for i, in := range ins {
		if events[i], err = oracle.Collect(ctx, in.mb, fence); err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, in.logs.String())
		}
	}
	recs, err := oracle.ReadSlot(ctx, connect(t, url), oracleSlot)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range ins {
		role := "follower"
		if in == leader {
			role = "leader"
		}
		rep, err := oracle.Check(ctx, conn, recs, events[i], "phoenixkitdb", oracle.Options{Seed: seed, Label: "phoenixkitdb, " + role, Messages: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Expected < 300 {
			t.Errorf("%s: only %d changes expected: the workload or the filter is broken", role, rep.Expected)
		}
		if !rep.OK() {
			t.Errorf("%s", rep)
			continue
		}
		t.Logf("%s", rep)
	}
}
