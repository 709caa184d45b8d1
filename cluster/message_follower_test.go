package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A logical message in the stream (format 2, written here by hand as
// docs/cluster.md describes it) reaches the mailboxes subscribed to its
// prefix through db.Replication().SubscribeMessages, with its position,
// and not those of TopicAll.
func TestFollowerDeliversLogicalMessages(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	dbURL, _ := walDB(t)
	in := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	waitReady(t, in)
	msgs := pubsub.NewMailbox(16)
	defer msgs.Close()
	if err := in.db.Replication().SubscribeMessages(msgs, "outbox"); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte{0x03, 3, 0, 0, 0, 0, 0, 0x2a, 2, 6, 'o', 'u', 't', 'b', 'o', 'x', 3, 'h', 'i', 0}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := js.Publish(ctx, cluster.DefaultSubject+"._message.outbox", body); err != nil {
		t.Fatal(err)
	}
	ev := next(t, msgs)
	if ev.Kind != pubsub.Message || ev.Prefix != "outbox" || string(ev.Content) != "hi\x00" || ev.LSN != 42 || ev.Seq != 2 {
		t.Fatalf("got %+v", ev)
	}
	for {
		select {
		case ev := <-in.mb.C():
			if ev.Kind != pubsub.Resync {
				t.Fatalf("TopicAll got %+v", ev)
			}
			continue
		default:
		}
		break
	}
}

// With WALMessages on, a message a transaction emits travels from the
// leader's slot through the stream to every instance, in order with the
// transaction's changes and with the same position, and the slot's
// confirmed position passes it (the relay stores it, so nothing waits
// for it).
func TestLeaderRelaysLogicalMessages(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	dbURL, run := walDB(t)
	var ins []*instance
	msgs := make([]*pubsub.Mailbox, 2)
	for i := range msgs {
		in := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL, messages: true})
		msgs[i] = pubsub.NewMailbox(64)
		defer msgs[i].Close()
		// The same mailbox takes the changes too, to check the order.
		if err := in.db.Replication().SubscribeMessages(msgs[i], "outbox"); err != nil {
			t.Fatal(err)
		}
		if err := in.db.Changes().SubscribeAll(msgs[i]); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	waitReady(t, ins...)
	run(`BEGIN; INSERT INTO items VALUES (1, 'a'); SELECT pg_logical_emit_message(true, 'outbox', 'order 1 placed'); INSERT INTO items VALUES (2, 'b'); COMMIT`)
	for i, mb := range msgs {
		var got []string
		var lsn pubsub.LSN
		for len(got) < 3 {
			ev := next(t, mb)
			switch ev.Kind {
			case pubsub.Resync:
				continue
			case pubsub.Message:
				got = append(got, ev.Prefix+":"+string(ev.Content))
			default:
				got = append(got, ev.String())
			}
			if lsn != 0 && ev.LSN != lsn {
				t.Fatalf("instance %d: %v at LSN %d, the transaction's is %d", i, ev, ev.LSN, lsn)
			}
			lsn = ev.LSN
			if ev.Seq != uint64(len(got)) {
				t.Fatalf("instance %d: %v has Seq %d, want %d", i, ev, ev.Seq, len(got))
			}
		}
		want := "public.items:INSERT:1,outbox:order 1 placed,public.items:INSERT:2"
		if s := strings.Join(got, ","); s != want {
			t.Fatalf("instance %d got %s, want %s", i, s, want)
		}
	}
	conn := connect(t, dbURL)
	var pending bool
	poll(t, "the slot confirms past the transaction", func() bool {
		err := conn.QueryRow(context.Background(),
			`SELECT confirmed_flush_lsn < pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = 'phoenixkitdb'`).Scan(&pending)
		if err != nil {
			t.Fatal(err)
		}
		if pending {
			run(`SELECT pg_logical_emit_message(false, 'nudge', '')`) // WAL for a keepalive to confirm
		}
		return !pending
	})
}
