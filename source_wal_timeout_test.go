package phoenixkitdb_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// TestDBWALTimeoutReachesTheSource checks that Config.WAL.Timeout tunes the
// DB's WAL source: a frozen network path is given up within a few seconds
// of a 1.5 s timeout, where the replication package's default (15 s) would
// still be waiting. The cluster module builds its leader's source from the
// same Config, so this is also how a cluster finds a frozen leader path.
func TestDBWALTimeoutReachesTheSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, url, conn := logicalServer(ctx, t)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (id bigint PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb", pgsql.Table{Schema: "public", Name: "t"}); err != nil {
		t.Fatal(err)
	}
	proxy, err := pgtest.NewProxy(srv.Host() + ":" + strconv.Itoa(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })

	db, err := phoenixkitdb.New(phoenixkitdb.Config{
		ConnString: proxy.URL(url), Source: phoenixkitdb.SourceWAL, Logger: quietLogger(),
		WAL: replication.Config{Timeout: 1500 * time.Millisecond, StatusInterval: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := newSupervisor(t)
	stop := serve(t, sup)
	defer stop()
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(db); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(64)
	defer mb.Close()
	if err := db.Changes().Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	if err := db.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, mb.C(), "the start Resync")

	proxy.Freeze()
	frozen := time.Now()
	deadline := frozen.Add(10 * time.Second) // the 15 s default would not get there
	for db.Replication().Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the frozen replication connection was not given up within 10 s; WAL.Timeout did not reach the source")
		}
		time.Sleep(20 * time.Millisecond) // polling a state, with a deadline
	}
	t.Logf("frozen path given up after %v", time.Since(frozen).Round(time.Millisecond))
	proxy.Thaw()
	if _, err := conn.Exec(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "the change after the thaw"); ev.String() != "public.t:INSERT:1" {
		t.Fatalf("got %v", ev)
	}
	if err := reg.Disable("db"); err != nil {
		t.Fatal(err)
	}
}
