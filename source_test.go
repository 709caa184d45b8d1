package phoenixkitdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

func TestChangesPicksTheSource(t *testing.T) {
	notify, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x"})
	if err != nil {
		t.Fatal(err)
	}
	if notify.Changes() != phoenixkitdb.ChangeSource(notify.Listener()) || notify.Replication() != nil {
		t.Fatal("NOTIFY mode: Changes is not the Listener, or Replication is set")
	}
	wal, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Slot: "s1", Publication: "p1"}})
	if err != nil {
		t.Fatal(err)
	}
	src := wal.Replication()
	if src == nil || wal.Listener() != nil || wal.Changes() != phoenixkitdb.ChangeSource(src) {
		t.Fatal("WAL mode: Changes is not the replication Source, or a Listener is set")
	}
	if src.Slot() != "s1" || src.Publication() != "p1" || src.PubSub() != wal.PubSub() {
		t.Fatal("Source not configured from Config")
	}
	kids := wal.Children()
	if len(kids) != 2 || kids[0] != suture.Service(wal.PubSub()) || kids[1] != suture.Service(src) {
		t.Fatalf("Children() = %v", kids)
	}
	if _, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Slot: "Bad"}}); !errors.Is(err, replication.ErrInvalidConfig) {
		t.Fatalf("bad slot: %v", err)
	}
	if _, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: 7}); err == nil {
		t.Fatal("unknown source kind accepted")
	}
	if phoenixkitdb.SourceWAL.String() != "wal" || phoenixkitdb.SourceNotify.String() != "notify" {
		t.Fatal("SourceKind.String")
	}
}

// The DB module in WAL mode under a live supervisor: a published table's
// changes reach a mailbox with the row, without any trigger.
func TestDBModuleWALMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, url, conn := logicalServer(ctx, t)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (id bigint PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb", pgsql.Table{Schema: "public", Name: "t"}); err != nil {
		t.Fatal(err)
	}
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: url, Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Messages: true}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := newSupervisor(t)
	stop := serve(t, sup)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(db); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(64)
	defer mb.Close()
	if err := db.Changes().Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := db.Replication().SubscribeMessages(mb, "app"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	if err := db.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "Resync"); ev.Kind != pubsub.Resync || ev.Reason != pubsub.ReasonStart {
		t.Fatalf("got %v", ev)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO t VALUES (7, 'seven'); SELECT pg_logical_emit_message(true, 'app', 'hello')`); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "change"); ev.String() != "public.t:INSERT:7" || ev.Seq != 1 {
		t.Fatalf("got %+v", ev)
	} else if name, _ := ev.New.Text("name"); name != "seven" {
		t.Fatalf("got name %q", name)
	}
	// Config.WAL.Messages reaches the Source.
	if ev := wait(t, mb.C(), "message"); ev.Kind != pubsub.Message || ev.Prefix != "app" || string(ev.Content) != "hello" || ev.Seq != 2 {
		t.Fatalf("got %+v", ev)
	}
	// The running Source's slot is in use: DropSlot looks, waits, and
	// refuses when its context ends, without making the server raise an
	// error. The context ends once its first look has committed, not
	// after a fixed time, which a loaded machine can spend on the look.
	short, cancelShort := context.WithCancel(ctx)
	err = replication.DropSlot(short, cancelAfterCommit{conn, cancelShort}, replication.DefaultSlot)
	cancelShort()
	if !errors.Is(err, replication.ErrSlotInUse) {
		t.Fatalf("DropSlot of an active slot = %v, want replication.ErrSlotInUse", err)
	}
	if err := reg.Disable("db"); err != nil {
		t.Fatal(err)
	}
	stop()
	// Right after the Source stopped its walsender may still be exiting:
	// DropSlot waits for it.
	if err := replication.DropSlot(ctx, conn, replication.DefaultSlot); err != nil {
		t.Fatal(err)
	}
}

// cancelAfterCommit is a connection whose transactions call cancel once
// they have committed.
type cancelAfterCommit struct {
	*pgx.Conn
	cancel context.CancelFunc
}

func (c cancelAfterCommit) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := c.Conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return cancelOnCommit{tx, c.cancel}, nil
}

type cancelOnCommit struct {
	pgx.Tx
	cancel context.CancelFunc
}

func (t cancelOnCommit) Commit(ctx context.Context) error {
	defer t.cancel()
	return t.Tx.Commit(ctx)
}
