package cluster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// streamMsgs returns how many messages the module's stream holds.
func streamMsgs(t *testing.T, ns *server.Server) uint64 {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// WAL source: every instance's events carry the Xid PostgreSQL gave the
// writing transaction (pg_current_xact_id modulo 2^32, what pgoutput's
// Begin sends), the leader's own follower's and another's alike. By
// default a transaction's changes share stream messages; with
// SingleChangeMessages each has its own.
func TestWALBatchesCarryXid(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			t.Parallel()
			ns := startNATS(t)
			dbURL, _ := walDB(t)
			o := instanceOpts{source: phoenixkitdb.SourceWAL, cluster: cluster.Config{SingleChangeMessages: single}}
			ins := []*instance{newInstance(t, ns, dbURL, o), newInstance(t, ns, dbURL, o)}
			waitReady(t, ins...)
			before := streamMsgs(t, ns)
			conn := connect(t, dbURL)
			ctx := context.Background()
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			const rows = 300
			if _, err := tx.Exec(ctx, `INSERT INTO items SELECT g, 'x' FROM generate_series(1, $1) g`, rows); err != nil {
				t.Fatal(err)
			}
			var xid int64
			if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text::bigint % 4294967296`).Scan(&xid); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			for i, in := range ins {
				n := 0
				for n < rows {
					ev := next(t, in.mb)
					if ev.Kind == pubsub.Resync {
						continue
					}
					n++
					if want := fmt.Sprintf("public.items:INSERT:%d", n); ev.String() != want || ev.Seq != uint64(n) {
						t.Fatalf("instance %d: got %v (Seq %d), want %s", i, ev, ev.Seq, want)
					}
					if int64(ev.Xid) != xid {
						t.Fatalf("instance %d: %v has Xid %d, PostgreSQL gave the transaction %d", i, ev, ev.Xid, xid)
					}
				}
			}
			msgs := streamMsgs(t, ns) - before
			t.Logf("%d changes in %d stream messages", rows, msgs)
			if single && msgs != rows || !single && msgs >= rows {
				t.Fatalf("%d changes took %d stream messages", rows, msgs)
			}
		})
	}
}
