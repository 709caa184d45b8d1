package pubsub_test

import (
	"errors"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A schema may contain a '.'. Subscriptions are keyed by the (schema,
// table) pair passed in, so "has.dot"."t" receives its changes, and it and
// "has"."dot.t", whose PhoenixKit topic strings are the same, stay
// distinct. Before, the pair was rebuilt from the topic string by
// splitting at the first '.', so SubscribeTable("has.dot", "t") was filed
// under "has"."dot.t" and received nothing of its own table.
func TestSubscribeTableWithDottedSchema(t *testing.T) {
	ps := newPubSub(t)
	dotted, other, plain := pubsub.NewMailbox(16), pubsub.NewMailbox(16), pubsub.NewMailbox(16)
	defer dotted.Close()
	defer other.Close()
	defer plain.Close()
	for _, s := range []struct {
		mb            *pubsub.Mailbox
		schema, table string
	}{{dotted, "has.dot", "t"}, {other, "has", "dot.t"}, {plain, "public", "t"}} {
		if err := ps.SubscribeTable(s.mb, s.schema, s.table); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(schema, table, id string) pubsub.Event {
		return pubsub.Event{Kind: pubsub.TableChanged, Schema: schema, Table: table, Operation: "INSERT", RowID: id}
	}
	// Single changes take the cached path, a batch the grouped one.
	for _, evs := range [][]pubsub.Event{
		{ev("has.dot", "t", "1")},
		{ev("has", "dot.t", "2")},
		{ev("has.dot", "t", "3"), ev("has", "dot.t", "4"), ev("public", "t", "5"), ev("has.dot", "t", "6")},
	} {
		if err := ps.BroadcastChanges(evs); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct {
		mb   *pubsub.Mailbox
		name string
		ids  []string
	}{{dotted, `"has.dot"."t"`, []string{"1", "3", "6"}}, {other, `"has"."dot.t"`, []string{"2", "4"}}, {plain, "public.t", []string{"5"}}} {
		got := drain(want.mb)
		if len(got) != len(want.ids) {
			t.Fatalf("%s received %v, want ids %v", want.name, got, want.ids)
		}
		for i, e := range got {
			if e.RowID != want.ids[i] {
				t.Fatalf("%s received %v, want ids %v", want.name, got, want.ids)
			}
		}
	}
	// The PhoenixKit name of a table without a dot in its schema is the
	// same topic; Unsubscribe by either form leaves the others alone.
	if n := ps.Subscribers(pubsub.TopicTable("public", "t")); n != 1 {
		t.Fatalf("Subscribers(TopicTable(public, t)) = %d, want 1", n)
	}
	if err := ps.UnsubscribeTable(dotted, "has.dot", "t"); err != nil {
		t.Fatal(err)
	}
	if err := ps.BroadcastChanges([]pubsub.Event{ev("has.dot", "t", "7"), ev("has", "dot.t", "8")}); err != nil {
		t.Fatal(err)
	}
	if got := drain(dotted); len(got) != 0 {
		t.Fatalf("unsubscribed mailbox received %v", got)
	}
	if got := drain(other); len(got) != 1 || got[0].RowID != "8" {
		t.Fatalf(`"has"."dot.t" received %v after the other unsubscribed`, got)
	}
	if err := ps.Unsubscribe(plain, pubsub.TopicTable("public", "t")); err != nil {
		t.Fatal(err)
	}
	if n := ps.Subscribers(pubsub.TopicTable("public", "t")); n != 0 {
		t.Fatalf("Subscribers after Unsubscribe = %d", n)
	}
}

func TestSubscribeTableInputErrors(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(1)
	defer mb.Close()
	for _, err := range []error{
		ps.SubscribeTable(mb, "", "t"),
		ps.SubscribeTable(mb, "s", ""),
		ps.SubscribeTable(mb, "s\x00", "t"),
		ps.UnsubscribeTable(mb, "s", ""),
		ps.Subscribe(mb, "phoenix_kit_db:has.dot\x00t"),
	} {
		if !errors.Is(err, pubsub.ErrInvalidTopic) {
			t.Errorf("got %v, want ErrInvalidTopic", err)
		}
	}
	if err := ps.SubscribeTable(nil, "s", "t"); !errors.Is(err, pubsub.ErrNilMailbox) {
		t.Errorf("nil mailbox: %v", err)
	}
}
