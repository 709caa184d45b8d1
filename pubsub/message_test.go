package pubsub_test

import (
	"errors"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestMessagesRouteByPrefixOnly: a Message reaches the mailboxes of its
// prefix's topic, in order with changes published around it, and neither
// TopicAll nor a table topic, even one whose name looks like the prefix.
func TestMessagesRouteByPrefixOnly(t *testing.T) {
	ps := newPubSub(t)
	if got := pubsub.TopicMessage("outbox.orders"); got != "phoenix_kit_db_message:outbox.orders" {
		t.Fatalf("TopicMessage = %q", got)
	}
	msgs, all, table := pubsub.NewMailbox(8), pubsub.NewMailbox(8), pubsub.NewMailbox(8)
	for _, mb := range []*pubsub.Mailbox{msgs, all, table} {
		defer mb.Close()
	}
	for _, sub := range []struct {
		mb    *pubsub.Mailbox
		topic string
	}{
		{msgs, pubsub.TopicMessage("outbox.orders")}, {msgs, pubsub.TopicTable("public", "t")},
		{all, pubsub.TopicAll()}, {table, pubsub.TopicTable("outbox", "orders")},
	} {
		if err := ps.Subscribe(sub.mb, sub.topic); err != nil {
			t.Fatal(err)
		}
	}
	msg := pubsub.Event{Kind: pubsub.Message, Prefix: "outbox.orders", Content: []byte("c"), LSN: 9, Seq: 2}
	if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", "1")}); err != nil {
		t.Fatal(err)
	}
	if err := ps.BroadcastMessage(msg); err != nil {
		t.Fatal(err)
	}
	if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", "2")}); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, msgs); ev.RowID != "1" {
		t.Fatalf("first: %v", ev)
	}
	if ev := recv(t, msgs); ev.Kind != pubsub.Message || ev.Prefix != "outbox.orders" || string(ev.Content) != "c" || ev.Seq != 2 {
		t.Fatalf("second: %+v", ev)
	}
	if ev := recv(t, msgs); ev.RowID != "2" {
		t.Fatalf("third: %v", ev)
	}
	if got := drain(all); len(got) != 2 || got[0].Kind != pubsub.TableChanged || got[1].Kind != pubsub.TableChanged {
		t.Fatalf("TopicAll got %v", got)
	}
	if got := drain(table); len(got) != 0 {
		t.Fatalf("the table topic outbox.orders got %v", got)
	}
	for _, bad := range []pubsub.Event{change("t", "INSERT", "1"), {Kind: pubsub.Resync}} {
		if err := ps.BroadcastMessage(bad); !errors.Is(err, pubsub.ErrInvalidEvent) {
			t.Errorf("BroadcastMessage(%v) = %v, want ErrInvalidEvent", bad, err)
		}
	}
}

// TestMessagesInABatch: BroadcastChanges takes messages among changes and
// delivers them in order, to their prefix topic and TopicMessages only; a
// mailbox on both gets a message twice, as a change through its table
// topic and TopicAll.
func TestMessagesInABatch(t *testing.T) {
	ps := newPubSub(t)
	every, one, all := pubsub.NewMailbox(16), pubsub.NewMailbox(16), pubsub.NewMailbox(16)
	for _, mb := range []*pubsub.Mailbox{every, one, all} {
		defer mb.Close()
	}
	for _, sub := range []struct {
		mb    *pubsub.Mailbox
		topic string
	}{
		{every, pubsub.TopicMessages()}, {every, pubsub.TopicAll()},
		{one, pubsub.TopicMessage("a")}, {one, pubsub.TopicMessages()},
		{all, pubsub.TopicAll()},
	} {
		if err := ps.Subscribe(sub.mb, sub.topic); err != nil {
			t.Fatal(err)
		}
	}
	batch := []pubsub.Event{
		change("t", "INSERT", "1"),
		{Kind: pubsub.Message, Prefix: "a", Content: []byte("x"), LSN: 5, Seq: 2},
		{Kind: pubsub.Message, Prefix: "b", Content: []byte("y"), LSN: 5, Seq: 3},
		change("t", "INSERT", "2"),
	}
	if err := ps.BroadcastChanges(batch); err != nil {
		t.Fatal(err)
	}
	str := func(evs []pubsub.Event) string {
		s := ""
		for _, ev := range evs {
			if ev.Kind == pubsub.Message {
				s += ev.Prefix + ":" + string(ev.Content) + " "
			} else {
				s += ev.RowID + " "
			}
		}
		return s
	}
	for _, c := range []struct {
		mb   *pubsub.Mailbox
		want string
	}{
		{every, "1 a:x b:y 2 "}, {one, "a:x a:x b:y "}, {all, "1 2 "},
	} {
		if got := str(drain(c.mb)); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
