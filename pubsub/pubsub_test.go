package pubsub_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func TestTopicNamesMatchPhoenixKit(t *testing.T) {
	if got := pubsub.TopicAll(); got != "phoenix_kit_db:all" {
		t.Errorf("TopicAll() = %q", got)
	}
	if got := pubsub.TopicTable("public", "users"); got != "phoenix_kit_db:public.users" {
		t.Errorf("TopicTable() = %q", got)
	}
}

// EventBus's Unsubscribe matches handlers by code pointer; identity here is
// the mailbox, so removing one subscriber never removes another.
func TestUnsubscribeOneKeepsTheOther(t *testing.T) {
	ps := newPubSub(t)
	a, b := pubsub.NewMailbox(8), pubsub.NewMailbox(8)
	topic := pubsub.TopicTable("public", "users")
	subscribe(t, ps, a, topic)
	subscribe(t, ps, b, topic)

	if err := ps.Unsubscribe(a, topic); err != nil {
		t.Fatal(err)
	}
	if err := ps.Broadcast(topic, change("users", "INSERT", "1")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, b); got.RowID != "1" {
		t.Fatalf("b got %v", got)
	}
	if got := drain(a); len(got) != 0 {
		t.Fatalf("unsubscribed a got %v", got)
	}

	// And the other way round, so the test does not depend on which
	// handler EventBus happened to hold first.
	subscribe(t, ps, a, topic)
	if err := ps.Unsubscribe(b, topic); err != nil {
		t.Fatal(err)
	}
	if err := ps.Broadcast(topic, change("users", "INSERT", "2")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, a); got.RowID != "2" {
		t.Fatalf("a got %v", got)
	}
	if got := drain(b); len(got) != 0 {
		t.Fatalf("unsubscribed b got %v", got)
	}
}

func TestOneCopyPerTopic(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(8)
	subscribe(t, ps, mb, pubsub.TopicTable("public", "users"), pubsub.TopicAll())
	subscribe(t, ps, mb, pubsub.TopicAll()) // twice on one topic is still one subscription

	if err := ps.BroadcastChanges([]pubsub.Event{change("users", "UPDATE", "7")}); err != nil {
		t.Fatal(err)
	}
	got := drain(mb)
	if len(got) != 2 || !reflect.DeepEqual(got[0], got[1]) || got[0].RowID != "7" || got[0].Kind != pubsub.TableChanged {
		t.Fatalf("got %v, want two copies of the change", got)
	}
}

func TestOrderKeptPerMailboxAcrossTopics(t *testing.T) {
	ps := newPubSub(t)
	both := pubsub.NewMailbox(1000)
	usersOnly := pubsub.NewMailbox(1000)
	all := pubsub.NewMailbox(1000)
	subscribe(t, ps, both, pubsub.TopicTable("public", "users"), pubsub.TopicTable("public", "orders"))
	subscribe(t, ps, usersOnly, pubsub.TopicTable("public", "users"))
	subscribe(t, ps, all, pubsub.TopicAll())

	var evs []pubsub.Event
	for i := range 300 {
		table := "users"
		if i%3 == 0 {
			table = "orders"
		}
		evs = append(evs, change(table, "INSERT", fmt.Sprint(i)))
	}
	// Half in one batch, the rest one by one.
	if err := ps.BroadcastChanges(evs[:150]); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[150:] {
		if err := ps.Broadcast(pubsub.TopicTable(ev.Schema, ev.Table), ev); err != nil {
			t.Fatal(err)
		}
		if err := ps.Broadcast(pubsub.TopicAll(), ev); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, mb *pubsub.Mailbox, want func(pubsub.Event) bool) {
		t.Helper()
		var wantIDs []string
		for _, ev := range evs {
			if want(ev) {
				wantIDs = append(wantIDs, ev.RowID)
			}
		}
		got := drain(mb)
		if len(got) != len(wantIDs) {
			t.Fatalf("%s: got %d events, want %d", name, len(got), len(wantIDs))
		}
		for i := range got {
			if got[i].RowID != wantIDs[i] {
				t.Fatalf("%s: event %d is %q, want %q", name, i, got[i].RowID, wantIDs[i])
			}
		}
	}
	check("both", both, func(pubsub.Event) bool { return true })
	check("usersOnly", usersOnly, func(ev pubsub.Event) bool { return ev.Table == "users" })
	check("all", all, func(pubsub.Event) bool { return true })
}

func TestResyncOncePerMailbox(t *testing.T) {
	ps := newPubSub(t)
	a, b, idle := pubsub.NewMailbox(8), pubsub.NewMailbox(8), pubsub.NewMailbox(8)
	subscribe(t, ps, a, pubsub.TopicAll(), pubsub.TopicTable("s", "t"), pubsub.TopicTable("s", "u"))
	subscribe(t, ps, b, pubsub.TopicTable("s", "t"))

	if err := ps.Broadcast(pubsub.TopicTable("s", "t"), change("t", "INSERT", "1")); err != nil {
		t.Fatal(err)
	}
	ps.ResyncWith("test")
	if err := ps.Broadcast(pubsub.TopicTable("s", "t"), change("t", "INSERT", "2")); err != nil {
		t.Fatal(err)
	}
	for name, mb := range map[string]*pubsub.Mailbox{"a": a, "b": b} {
		got := drain(mb)
		if len(got) != 3 || got[0].RowID != "1" || got[1].Kind != pubsub.Resync || got[1].Reason != "test" || got[2].RowID != "2" {
			t.Errorf("%s got %v, want change 1, one Resync, change 2", name, got)
		}
	}
	if got := drain(idle); len(got) != 0 {
		t.Errorf("unsubscribed mailbox got %v", got)
	}
}

func TestInputErrors(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(1)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"subscribe nil", ps.Subscribe(nil, "x"), pubsub.ErrNilMailbox},
		{"unsubscribe nil", ps.Unsubscribe(nil, "x"), pubsub.ErrNilMailbox},
		{"empty topic", ps.Subscribe(mb, ""), pubsub.ErrInvalidTopic},
		{"broadcast empty topic", ps.Broadcast("", pubsub.Event{}), pubsub.ErrInvalidTopic},
		{"bad kind", ps.Broadcast("x", pubsub.Event{Kind: 9}), pubsub.ErrInvalidEvent},
		{"change without table", ps.BroadcastChanges([]pubsub.Event{{Schema: "s"}}), pubsub.ErrInvalidEvent},
		{"resync as change", ps.BroadcastChanges([]pubsub.Event{{Kind: pubsub.Resync, Schema: "s", Table: "t"}}), pubsub.ErrInvalidEvent},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	mb.Close()
	if err := ps.Subscribe(mb, "x"); !errors.Is(err, pubsub.ErrMailboxClosed) {
		t.Errorf("subscribe closed: %v", err)
	}
	if err := ps.Unsubscribe(pubsub.NewMailbox(1), "never"); err != nil {
		t.Errorf("unsubscribe unknown: %v", err)
	}
}

func TestStatsAndTopicsForgotten(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(1)
	subscribe(t, ps, mb, "a", "b")
	if s := ps.Stats(); s.Topics != 2 || s.Mailboxes != 1 {
		t.Fatalf("stats %+v", s)
	}
	mb.Close()
	if s := ps.Stats(); s.Topics != 0 || s.Mailboxes != 0 {
		t.Fatalf("after Close, stats %+v", s)
	}
	if n := ps.Subscribers("a"); n != 0 {
		t.Fatalf("Subscribers(a) = %d", n)
	}
}

// Table topics are found by table, including names with dots, and a
// topic that merely looks like one is not confused with it.
func TestTableTopicRouting(t *testing.T) {
	ps := newPubSub(t)
	dotted, plain, lookalike := pubsub.NewMailbox(4), pubsub.NewMailbox(4), pubsub.NewMailbox(4)
	subscribe(t, ps, dotted, pubsub.TopicTable("s", "t.v"))
	subscribe(t, ps, plain, pubsub.TopicTable("s", "t"))
	subscribe(t, ps, lookalike, "phoenix_kit_db:s")
	if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", "1"), {Schema: "s", Table: "t.v", Operation: "DELETE", RowID: "2"}, {Schema: "s", Table: "t", Operation: "UPDATE", RowID: "3"}}); err != nil {
		t.Fatal(err)
	}
	if got := drain(dotted); len(got) != 1 || got[0].RowID != "2" {
		t.Fatalf("dotted got %v", got)
	}
	if got := drain(plain); len(got) != 1 || got[0].RowID != "3" {
		t.Fatalf("plain got %v", got)
	}
	if got := drain(lookalike); len(got) != 0 {
		t.Fatalf("lookalike got %v", got)
	}
	// After the last subscriber leaves, the table topic is gone.
	_ = ps.Unsubscribe(dotted, pubsub.TopicTable("s", "t.v"))
	if err := ps.BroadcastChanges([]pubsub.Event{{Schema: "s", Table: "t.v", Operation: "INSERT", RowID: "4"}}); err != nil {
		t.Fatal(err)
	}
	if got := drain(dotted); len(got) != 0 {
		t.Fatalf("unsubscribed got %v", got)
	}
}
