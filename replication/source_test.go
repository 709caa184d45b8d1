package replication_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

func TestNewValidates(t *testing.T) {
	ps := pubsub.New(nil)
	cases := []replication.Config{
		{ConnString: "postgres://x@127.0.0.1/db"},
		{PubSub: ps},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Slot: "Upper"},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Slot: "bad'slot"},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Slot: strings.Repeat("s", 64)},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Publication: "a\x00b"},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Publication: strings.Repeat("p", 64)},
		{PubSub: ps, ConnString: "postgres://x:secret@127.0.0.1:notaport/db"},
		{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", MinBackoff: time.Second, MaxBackoff: time.Millisecond},
	}
	for i, c := range cases {
		_, err := replication.New(c)
		if !errors.Is(err, replication.ErrInvalidConfig) {
			t.Errorf("case %d: got %v, want ErrInvalidConfig", i, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("case %d: error quotes the password: %v", i, err)
		}
	}
	src, err := replication.New(replication.Config{PubSub: ps, ConnString: "postgres://x@127.0.0.1/db", Publication: `We"ird 'pub`})
	if err != nil {
		t.Fatal(err)
	}
	if src.Slot() != replication.DefaultSlot || src.String() != "phoenixkitdb/replication(phoenixkitdb)" {
		t.Errorf("defaults: slot %q, String %q", src.Slot(), src.String())
	}
}

func TestStreamsRowChanges(t *testing.T) {
	b := setup(t, options{})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	exec(t, conn,
		`INSERT INTO items (id, uuid, n, note) VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 10, 'one')`,
		`UPDATE items SET n = 11 WHERE id = 1`,
		`DELETE FROM items WHERE id = 1`,
		`INSERT INTO other VALUES (1, 'not published')`,
		`TRUNCATE items`)

	// The row id is the primary key's (id), not the uuid column's.
	ins := next(t, b.mb, 10*time.Second)
	if ins.String() != "public.items:INSERT:1" || ins.LSN == 0 || ins.Seq != 1 || ins.CommitTime.IsZero() {
		t.Fatalf("insert: %+v", ins)
	}
	if got := rowString(ins.New); got != "id=1 uuid=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 n=10 note=one" || ins.Old != nil {
		t.Fatalf("insert row: %s, old %s", got, rowString(ins.Old))
	}
	upd := next(t, b.mb, 10*time.Second)
	if upd.Operation != "UPDATE" || upd.RowID != "1" || upd.LSN <= ins.LSN || upd.Seq != 1 {
		t.Fatalf("update: %+v", upd)
	}
	if got := rowString(upd.New); got != "id=1 uuid=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 n=11 note=one" {
		t.Fatalf("update row: %s", got)
	}
	del := next(t, b.mb, 10*time.Second)
	// The replica identity is the primary key: the old row holds id only,
	// the other columns are absent, and the row id comes from it.
	if del.Operation != "DELETE" || del.New != nil || rowString(del.Old) != "id=1" || del.RowID != "1" {
		t.Fatalf("delete: %+v, old %s", del, rowString(del.Old))
	}
	if st := del.Old.State("note"); st != pubsub.Absent {
		t.Fatalf("delete: note is %v in the old key row", st)
	}
	tr := next(t, b.mb, 10*time.Second)
	if tr.String() != "public.items:TRUNCATE:" || tr.Cascade || tr.RestartIdentity || tr.Seq != 1 {
		t.Fatalf("truncate: %+v", tr)
	}
	expectNothing(t, b.mb)
	st := b.src.Stats()
	if !st.Running || !st.Connected || !st.Ready || st.Published != 4 || st.Resyncs != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestOldRowWithReplicaIdentityFull(t *testing.T) {
	b := setup(t, options{})
	conn := connect(t, b.url)
	exec(t, conn, `ALTER TABLE items REPLICA IDENTITY FULL`)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn, `INSERT INTO items (id, n) VALUES (1, 1)`, `UPDATE items SET n = 2`, `DELETE FROM items`)
	ins := next(t, b.mb, 10*time.Second)
	upd := next(t, b.mb, 10*time.Second)
	del := next(t, b.mb, 10*time.Second)
	// FULL: the old row is whole, and the row id follows PhoenixKit's
	// rule (the uuid column), the same in every event of the row.
	uuid, _ := ins.New.Text("uuid")
	if rowString(upd.Old) != "id=1 uuid="+uuid+" n=1 note=NULL" || rowString(upd.New) != "id=1 uuid="+uuid+" n=2 note=NULL" ||
		rowString(del.Old) != "id=1 uuid="+uuid+" n=2 note=NULL" || ins.RowID != uuid || upd.RowID != uuid || del.RowID != uuid {
		t.Fatalf("update %+v (old %s, new %s), delete %+v (old %s)", upd, rowString(upd.Old), rowString(upd.New), del, rowString(del.Old))
	}
}

func TestSchemaChangesAndToast(t *testing.T) {
	b := setup(t, options{})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	// Stored out of line uncompressed: TOASTed whatever its content.
	exec(t, conn, `ALTER TABLE items ALTER COLUMN note SET STORAGE EXTERNAL`)
	big := strings.Repeat("x", 100000)
	if _, err := conn.Exec(context.Background(), `INSERT INTO items (id, n, note) VALUES (1, 1, $1)`, big); err != nil {
		t.Fatal(err)
	}
	exec(t, conn,
		`UPDATE items SET n = 2 WHERE id = 1`,
		`ALTER TABLE items ADD COLUMN extra text DEFAULT 'e'`,
		`INSERT INTO items (id, n) VALUES (2, 2)`,
		`ALTER TABLE items DROP COLUMN n`,
		`ALTER TABLE items RENAME COLUMN extra TO renamed`,
		`INSERT INTO items (id) VALUES (3)`)
	if ev := next(t, b.mb, 10*time.Second); ev.New.State("note") != pubsub.Present {
		t.Fatalf("insert: note is %v", ev.New.State("note"))
	} else if note, _ := ev.New.Text("note"); note != big {
		t.Fatalf("insert: note has %d bytes", len(note))
	}
	upd := next(t, b.mb, 10*time.Second)
	if _, ok := upd.New.Text("note"); ok || upd.New.State("note") != pubsub.UnchangedTOAST || rowString(upd.New) != "id=1 uuid="+textOf(t, upd.New, "uuid")+" n=2 note=<toast>" {
		t.Fatalf("update: the unchanged TOAST value must be marked so, not sent: %s", rowString(upd.New))
	}
	if ev := next(t, b.mb, 10*time.Second); rowString(ev.New) != "id=2 uuid="+textOf(t, ev.New, "uuid")+" n=2 note=NULL extra=e" {
		t.Fatalf("after ADD COLUMN: %s", rowString(ev.New))
	}
	ev := next(t, b.mb, 10*time.Second)
	if ev.New.State("n") != pubsub.Absent || rowString(ev.New) != "id=3 uuid="+textOf(t, ev.New, "uuid")+" note=NULL renamed=e" {
		t.Fatalf("after DROP and RENAME COLUMN: %s", rowString(ev.New))
	}
}

func TestSubscribeValidates(t *testing.T) {
	src, err := replication.New(replication.Config{PubSub: pubsub.New(nil), ConnString: "postgres://x@127.0.0.1/db", StartGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(1)
	defer mb.Close()
	if err := src.Subscribe(mb, "", "t"); !errors.Is(err, replication.ErrInvalidTable) {
		t.Fatalf("got %v", err)
	}
	if err := src.Subscribe(mb, "public", "items"); err != nil {
		t.Fatal(err)
	}
	if err := src.Unsubscribe(mb, "public", "items"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := src.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady on a stopped Source: %v", err)
	}
}
