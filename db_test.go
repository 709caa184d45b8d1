package phoenixkitdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

func TestNewValidatesConfig(t *testing.T) {
	if _, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://x:y@[bad"}); !errors.Is(err, listener.ErrInvalidConfig) {
		t.Fatalf("bad conn string: %v", err)
	}
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x"})
	if err != nil {
		t.Fatal(err)
	}
	if db.Key() != "db" || db.Name() != "DB" || db.Version() == "" {
		t.Fatalf("identity %q %q %q", db.Key(), db.Name(), db.Version())
	}
	kids := db.Children()
	if len(kids) != 2 || kids[0] != suture.Service(db.PubSub()) || kids[1] != suture.Service(db.Listener()) {
		t.Fatalf("Children() = %v", kids)
	}
	if again := db.Children(); again[0] != kids[0] || again[1] != kids[1] {
		t.Fatal("Children() returned new services")
	}
	if db.Listener().Channel() != listener.DefaultChannel || db.Listener().PubSub() != db.PubSub() {
		t.Fatal("Listener not wired to the default channel and the module's PubSub")
	}
	other, _ := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x"})
	if other.PubSub() == db.PubSub() || other.Listener() == db.Listener() {
		t.Fatal("two DB values share state")
	}
}

// The whole module under a live supervisor: changes flow while enabled;
// Disable leaves no Listener backend; Enable again resumes with a Resync.
func TestDBModuleEnableDisable(t *testing.T) {
	dbURL := pgtest.NewDB(t, pg)
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: pgtest.WithApplicationName(dbURL, "pkdb-module-test"), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := newSupervisor(t)
	serve(t, sup)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(db); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(64)
	defer mb.Close()
	if err := db.Listener().Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "Resync"); ev.Kind != pubsub.Resync {
		t.Fatalf("got %v", ev)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	send := func(id string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", listener.DefaultChannel, "public.t:INSERT:"+id); err != nil {
			t.Fatal(err)
		}
	}
	send("1")
	if ev := wait(t, mb.C(), "change"); ev.RowID != "1" {
		t.Fatalf("got %v", ev)
	}

	if err := reg.Disable("db"); err != nil {
		t.Fatal(err)
	}
	if db.Listener().Running() || db.PubSub().Serving() {
		t.Fatal("children still running after Disable returned")
	}
	backends := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pids, err := pg.Backends(ctx, "pkdb-module-test")
		if err != nil {
			t.Fatal(err)
		}
		return len(pids)
	}
	deadline := time.Now().Add(5 * time.Second)
	for backends() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a Listener backend is left in pg_stat_activity after Disable")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "Resync after re-enable"); ev.Kind != pubsub.Resync {
		t.Fatalf("got %v", ev)
	}
	send("2")
	if ev := wait(t, mb.C(), "change after re-enable"); ev.RowID != "2" {
		t.Fatalf("got %v", ev)
	}
}
