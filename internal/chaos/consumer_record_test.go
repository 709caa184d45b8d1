package chaos_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func TestConsumerRecordsChangesMarkersAndResyncs(t *testing.T) {
	ps := pubsub.New(nil)
	mb := pubsub.NewMailbox(100)
	if err := ps.Subscribe(mb, "t"); err != nil {
		t.Fatal(err)
	}
	clock := new(atomic.Int64)
	c := chaos.NewConsumer("app/all", mb, clock)
	c.StampResyncs = true
	c.Sabotage = func(ev pubsub.Event, n int) (drop, twice bool) { return n == 2, n == 3 }
	if n := c.StartPeriod(); n != 0 {
		t.Errorf("first StartPeriod returned %d periods before it, want 0", n)
	}
	go c.Read()

	change := func(id string) pubsub.Event {
		return pubsub.Event{Schema: "chaos", Table: "a", Operation: pubsub.Insert, RowID: id}
	}
	for _, ev := range []pubsub.Event{
		change("1"),
		change("2"), // dropped by the sabotage
		change("3"), // recorded twice
		chaos.MarkerEvent(1),
		{Kind: pubsub.Resync, Reason: pubsub.ReasonOverflow},
		change("4"),
	} {
		if err := ps.Broadcast("t", ev); err != nil {
			t.Fatal(err)
		}
	}
	if !chaos.WaitFor(10*time.Second, func() bool { return c.ItemCount() == 6 }) {
		t.Fatalf("recorded %d items, want 6", c.ItemCount())
	}
	if all, resync := c.Seen(0, []string{"chaos.a:INSERT:1", "chaos.a:INSERT:4"}); !all || !resync {
		t.Errorf("Seen = %v, %v; want both true", all, resync)
	}
	if all, _ := c.Seen(0, []string{"chaos.a:INSERT:2"}); all {
		t.Error("Seen reports a change the sabotage dropped")
	}
	if all, resync := c.Seen(5, []string{"chaos.a:INSERT:4"}); !all || resync {
		t.Errorf("Seen from index 5 = %v, %v; want true, false", all, resync)
	}
	c.EndPeriod()
	mb.Close()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after the mailbox closed")
	}

	got := c.Mailbox()
	want := []chaos.Item{
		{Kind: chaos.Change, Payload: "chaos.a:INSERT:1"},
		{Kind: chaos.Change, Payload: "chaos.a:INSERT:3"},
		{Kind: chaos.Change, Payload: "chaos.a:INSERT:3"},
		{Kind: chaos.Marker, Sub: 1},
		{Kind: chaos.Resync, Reason: pubsub.ReasonOverflow, Clock: 2}, // the period started at 1
		{Kind: chaos.Change, Payload: "chaos.a:INSERT:4"},
	}
	if got.Name != "app/all" || !slices.Equal(got.Items, want) {
		t.Errorf("Mailbox %q items\n got %+v\nwant %+v", got.Name, got.Items, want)
	}
	if len(got.Subs) != 1 || got.Subs[0] != (chaos.Interval{From: 1, To: 3}) {
		t.Errorf("subscription periods %+v, want [{1 3}]", got.Subs)
	}
}

func TestConsumerWatchesItsTablesOnly(t *testing.T) {
	c := chaos.NewConsumer("x", pubsub.NewMailbox(1), new(atomic.Int64))
	if !c.Watches("chaos.a") {
		t.Error("a consumer of every table does not watch chaos.a")
	}
	c.Tables = []string{"chaos.b"}
	if c.Watches("chaos.a") || !c.Watches("chaos.b") {
		t.Error("a consumer of chaos.b watches the wrong tables")
	}
	if all, _ := c.Seen(0, []string{"chaos.a:INSERT:1"}); !all {
		t.Error("Seen waits for a change on a table the consumer does not watch")
	}
}

func TestTallyAndTexts(t *testing.T) {
	var tl chaos.Tally
	tl.Add(chaos.Report{Delivered: 5, Owed: 6, Covered: 1, Resyncs: map[pubsub.Reason]int{pubsub.ReasonOverflow: 1}})
	tl.Add(chaos.Report{Delivered: 3, Owed: 3, Lost: 1, Disordered: 2, Phantoms: 3, Unexpected: 4,
		Resyncs: map[pubsub.Reason]int{pubsub.ReasonOverflow: 2, pubsub.ReasonListen: 1}})
	if tl.Checked != 2 || tl.Delivered != 8 || tl.Owed != 9 || tl.Covered != 1 || tl.Lost != 1 ||
		tl.Disordered != 2 || tl.Phantoms != 3 || tl.Unexpected != 4 {
		t.Errorf("Tally %+v", tl)
	}
	if n, text := tl.ResyncText(); n != 4 || text != "listen=1 overflow=3" {
		t.Errorf("ResyncText = %d %q", n, text)
	}
	if n, text := chaos.FaultText([]string{"cut", "freeze"}, map[string]int{"freeze": 2, "cut": 1}); n != 3 || text != "cut=1 freeze=2" {
		t.Errorf("FaultText = %d %q", n, text)
	}
	if chaos.Verdict(false) != "PASS" || chaos.Verdict(true) != "FAIL" {
		t.Error("Verdict")
	}
	if n := chaos.CountTxs([]chaos.Entry{{Seq: 1}, {Seq: 1}, {Seq: 2}, {Seq: 5}, {Seq: 5}}); n != 3 {
		t.Errorf("CountTxs = %d, want 3", n)
	}
}
