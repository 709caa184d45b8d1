package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/internal/shapetest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestShapesDifferentialOnFollower: live shapes on a cluster follower
// that does not lead (WAL source), fed only by the stream: 200 random
// shapes made at random moments while writers move rows in and out, then
// each equals PostgreSQL's SELECT. Faults: a third of the way through the
// leader's host vanishes (its NATS cut, its database path frozen, so
// it neither releases the lease nor confirms its last changes) while the
// shapes' follower is stalled, so another instance takes over and replays
// from the slot; at two thirds the shapes' follower loses NATS and
// resumes.
func TestShapesDifferentialOnFollower(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	url := shapesDB(t)
	proxy, rewrite := proxied(t, url)
	a := newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL, dbURL: rewrite})
	waitReady(t, a)
	if !a.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	c := newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL})
	b := newInstance(t, ns, url, instanceOpts{source: phoenixkitdb.SourceWAL})
	waitReady(t, a, b, c)
	// The instances' own mailboxes are drained; b's changes must come in
	// commit order, (LSN, Seq) increasing, each with its xid.
	var orderMu sync.Mutex
	var disorder []string
	for _, in := range []*instance{a, b, c} {
		go func() {
			var last pubsub.Event
			for ev := range in.mb.C() {
				if in != b || ev.Kind != pubsub.TableChanged {
					continue
				}
				if ev.Xid == 0 || ev.LSN == 0 || ev.LSN < last.LSN || ev.LSN == last.LSN && ev.Seq <= last.Seq {
					orderMu.Lock()
					disorder = append(disorder, fmt.Sprintf("%v/%d xid %d after %v/%d", ev.LSN, ev.Seq, ev.Xid, last.LSN, last.Seq))
					orderMu.Unlock()
				}
				last = ev
			}
		}()
	}
	defer func() {
		orderMu.Lock()
		defer orderMu.Unlock()
		if len(disorder) > 0 {
			t.Errorf("the shapes' instance got changes out of commit order or without an xid: %v", disorder[:min(len(disorder), 20)])
		}
	}()
	m, pool := followerShapes(t, url, b)
	faults := []func(){
		func() {
			b.sw.Freeze()
			t.Cleanup(b.sw.Release)
			proxy.Freeze()
			t.Cleanup(proxy.Thaw)
			a.sw.Cut()
			poll(t, "c to lead with its source ready", func() bool { return c.cl.Leading() && c.cl.Source().Ready() })
			b.sw.Release()
		},
		func() {
			b.sw.Cut()
			poll(t, "b's follower to lose the stream", func() bool { return !b.cl.Follower().Connected() })
			b.sw.Restore()
			waitReady(t, b)
		},
	}
	shapetest.Differential(t, shapetest.Run{Pool: pool, Manager: m, Faults: faults})
	// Under load the last leader may lose its lease and the shapes'
	// instance take over: still correct, though not what the test meant.
	t.Logf("at the end: a leads %v, b (shapes) %v, c %v", a.cl.Leading(), b.cl.Leading(), c.cl.Leading())
}

// shapesDB starts a PostgreSQL server with wal_level=logical and returns
// the URL of a database with shapetest's tables in publication
// phoenixkitdb.
func shapesDB(t *testing.T) string {
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
	exec(t, conn, shapetest.Tables)
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb",
		pgsql.Table{Schema: "public", Name: "items"}, pgsql.Table{Schema: "public", Name: "marks"}); err != nil {
		t.Fatal(err)
	}
	return url
}

// followerShapes runs a shape.Manager on in's PubSub, with a pool of its
// own on url; both end before the instance stops.
func followerShapes(t *testing.T, url string, in *instance) (*shape.Manager, *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4 // pgxpool's default on two cores: snapshots and fetches wait for connections
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	m, err := shape.New(shape.Config{Pool: pool, Changes: in.db.PubSub(), Buffer: 256, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = m.Serve(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		wg.Wait()
		pool.Close()
	})
	return m, pool
}

// testLog writes log lines to the test's log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
