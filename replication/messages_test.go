package replication_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/walflush"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// TestLogicalMessages: with Config.Messages, a transactional message is
// delivered in order with its transaction's changes, with the
// transaction's LSN and the next Seq, on its prefix's topic only; a
// non-transactional one is not delivered; a transaction that only emits a
// message delivers it too.
func TestLogicalMessages(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{Messages: true}, noServe: true})
	both := pubsub.NewMailbox(64) // items' changes and the outbox messages
	other := pubsub.NewMailbox(64)
	flush := pubsub.NewMailbox(64) // package shape's WAL flushes: never delivered
	t.Cleanup(both.Close)
	t.Cleanup(other.Close)
	t.Cleanup(flush.Close)
	if err := b.src.Subscribe(both, "public", "items"); err != nil {
		t.Fatal(err)
	}
	if err := b.src.SubscribeMessages(both, "outbox"); err != nil {
		t.Fatal(err)
	}
	if err := b.src.SubscribeMessages(other, "other.prefix"); err != nil {
		t.Fatal(err)
	}
	if err := b.src.SubscribeMessages(flush, walflush.Prefix); err != nil {
		t.Fatal(err)
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	for _, mb := range []*pubsub.Mailbox{b.mb, both, other, flush} {
		expectResync(t, mb, pubsub.ReasonStart, 10*time.Second)
	}
	conn := connect(t, b.url)
	exec(t, conn,
		`SELECT pg_logical_emit_message(false, 'outbox', 'not transactional')`,
		`BEGIN`,
		`INSERT INTO items (id) VALUES (1)`,
		`SELECT pg_logical_emit_message(true, 'outbox', '\x00ff'::bytea)`,
		`SELECT pg_logical_emit_message(true, '`+walflush.Prefix+`', '')`,
		`SELECT pg_logical_emit_message(true, 'other.prefix', 'second')`,
		`INSERT INTO items (id) VALUES (2)`,
		`COMMIT`,
		`SELECT pg_logical_emit_message(true, 'outbox', 'alone')`,
		`INSERT INTO items (id) VALUES (3)`)

	// TopicAll carries the changes only.
	for _, id := range []string{"1", "2", "3"} {
		if ev := next(t, b.mb, 10*time.Second); ev.Kind != pubsub.TableChanged || ev.RowID != id {
			t.Fatalf("all-tables mailbox: got %v (kind %v), want the change of id %s", ev, ev.Kind, id)
		}
	}
	expectNothing(t, b.mb)

	ins1 := next(t, both, 10*time.Second)
	msg := next(t, both, 10*time.Second)
	ins2 := next(t, both, 10*time.Second)
	alone := next(t, both, 10*time.Second)
	ins3 := next(t, both, 10*time.Second)
	if ins1.RowID != "1" || ins1.Seq != 1 || ins2.RowID != "2" || ins2.Seq != 4 || ins3.RowID != "3" || ins3.Seq != 1 {
		t.Fatalf("changes: %+v %+v %+v", ins1, ins2, ins3)
	}
	if msg.Kind != pubsub.Message || msg.Prefix != "outbox" || !bytes.Equal(msg.Content, []byte{0, 0xff}) ||
		msg.LSN != ins1.LSN || msg.Seq != 2 || !msg.CommitTime.Equal(ins1.CommitTime) || msg.New != nil || msg.Table != "" {
		t.Fatalf("message: %+v", msg)
	}
	if alone.Kind != pubsub.Message || string(alone.Content) != "alone" || alone.Seq != 1 || alone.LSN <= ins2.LSN || alone.LSN >= ins3.LSN {
		t.Fatalf("message alone in its transaction: %+v", alone)
	}
	expectNothing(t, both)
	sec := next(t, other, 10*time.Second)
	if sec.Kind != pubsub.Message || sec.Prefix != "other.prefix" || string(sec.Content) != "second" || sec.LSN != ins1.LSN || sec.Seq != 3 {
		t.Fatalf("other prefix: %+v", sec)
	}
	expectNothing(t, other)
	expectNothing(t, flush) // and its Seq was not taken: ins2's is 4
	if b.logs.Count("non-transactional") != 1 {
		t.Errorf("the ignored non-transactional message was not logged once:\n%s", b.logs)
	}
}

// TestMessagesOffByDefault: without Config.Messages the server does not
// send messages.
func TestMessagesOffByDefault(t *testing.T) {
	b := setup(t, options{noServe: true})
	mb := pubsub.NewMailbox(8)
	t.Cleanup(mb.Close)
	if err := b.src.SubscribeMessages(mb, "outbox"); err != nil {
		t.Fatal(err)
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	expectResync(t, mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	exec(t, conn, `BEGIN`, `SELECT pg_logical_emit_message(true, 'outbox', 'x')`, `INSERT INTO items (id) VALUES (1)`, `COMMIT`)
	if ev := next(t, b.mb, 10*time.Second); ev.RowID != "1" || ev.Seq != 1 {
		t.Fatalf("got %+v", ev)
	}
	expectNothing(t, mb)
}
