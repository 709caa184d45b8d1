package cluster_test

import (
	"context"
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
