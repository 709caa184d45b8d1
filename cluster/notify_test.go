package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// notifyDB creates a database with table public.items and its trigger.
func notifyDB(t *testing.T) (string, func(sql string, args ...any)) {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	conn := connect(t, url)
	exec(t, conn, `CREATE TABLE items (id bigint PRIMARY KEY, name text)`)
	if err := trigger.Ensure(context.Background(), conn, "public", "items"); err != nil {
		t.Fatal(err)
	}
	return url, func(sql string, args ...any) { exec(t, conn, sql, args...) }
}

// With three instances, one LISTEN backend reads the database and every
// instance's mailbox receives every change in commit order; followers'
// Changes() report running and ready and never warn "not running".
func TestNotifyOneReaderEveryInstanceReceives(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	var ins []*instance
	for range 3 {
		ins = append(ins, newInstance(t, ns, url, instanceOpts{}))
	}
	waitReady(t, ins...)

	conn := connect(t, url)
	oneListener(t, conn)
	if leaderOf(t, ins) == nil {
		t.Fatal("no leader")
	}
	if n := connectedSources(ins); n != 1 {
		t.Fatalf("%d change sources connected, want 1", n)
	}
	const n = 50
	var want []string
	for i := range n {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
		want = append(want, fmt.Sprintf("public.items:INSERT:%d", i))
	}
	for i, in := range ins {
		got, _ := changesOnly(t, in.mb, n)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("instance %d got %v", i, got)
		}
		if !in.db.Changes().Running() || !in.db.Ready() {
			t.Fatalf("instance %d: Changes() not running or not ready", i)
		}
		in.db.Changes().EnsureStarted()
	}
	oneListener(t, conn)
	for i, in := range ins {
		if strings.Contains(in.logs.String(), "not running") {
			t.Fatalf("instance %d warned:\n%s", i, in.logs.String())
		}
	}
}
