package listener

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func quietPubSub() *pubsub.PubSub { return pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func changes(from, n int) []pubsub.Event {
	evs := make([]pubsub.Event, n)
	for i := range evs {
		evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "t", Operation: "INSERT", RowID: strconv.Itoa(from + i)}
	}
	return evs
}

// waitUntil polls cond every millisecond until it holds or 2 minutes pass
// (a bound for a hang, not a speed check: the race detector on a loaded
// machine delivers millions of events slowly).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// One big batch to 1,000 mailboxes is delivered in chunks, releasing the
// PubSub lock between them: a Subscribe issued once the first events are
// out takes effect while the batch is still being delivered, and the new
// mailbox receives the rest of that batch, in order.
func TestSubscribeTakesEffectDuringABigDelivery(t *testing.T) {
	const mailboxes, n = 1000, 8192
	ps := quietPubSub()
	var watcher *pubsub.Mailbox
	for i := range mailboxes {
		mb := pubsub.NewMailbox(8) // they overflow: what matters is the work per event
		t.Cleanup(mb.Close)
		if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			watcher = mb
		}
	}
	late := pubsub.NewMailbox(n)
	t.Cleanup(late.Close)

	var published atomic.Uint64
	d := newDispatcher(ps, &published)
	subscribed := make(chan error, 1)
	go func() {
		<-watcher.C() // the batch has started
		subscribed <- ps.Subscribe(late, pubsub.TopicAll())
	}()
	go d.run()
	defer func() { d.close(); <-d.done }()
	d.pushBatch(context.Background(), changes(0, n))
	if err := <-subscribed; err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the batch published", func() bool { return published.Load() == n })

	// The mailbox hands queued events to C one by one: read until it
	// holds nothing more.
	var got []pubsub.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case ev := <-late.C():
			got = append(got, ev)
			continue
		default:
		}
		if late.Len() == 0 || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	if len(got) == 0 {
		t.Fatal("the mailbox subscribed during the delivery received nothing of it: Subscribe waited for the whole batch")
	}
	first, _ := strconv.Atoi(got[0].RowID)
	for i, ev := range got {
		if ev.Kind != pubsub.TableChanged || ev.RowID != strconv.Itoa(first+i) {
			t.Fatalf("event %d is %v; want row %d", i, ev, first+i)
		}
	}
	if last := got[len(got)-1].RowID; last != strconv.Itoa(n-1) {
		t.Fatalf("last event is row %s, want %d", last, n-1)
	}
	t.Logf("subscribed after %d of %d events; received the other %d", first, n, len(got))
}

// The reader's batches pile up while the dispatcher is stalled: pending
// never exceeds maxPending plus one batch, the reader blocks in pushBatch
// (which says so), and resumes once the dispatcher runs; every event is
// then delivered once, in order.
func TestDispatcherBackpressureBound(t *testing.T) {
	const batch, batches = 1000, 70
	ps := quietPubSub()
	mb := pubsub.NewMailbox(batch*batches + 16)
	t.Cleanup(mb.Close)
	if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
		t.Fatal(err)
	}
	var published atomic.Uint64
	d := newDispatcher(ps, &published) // not running yet: stalled
	pending := func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.queued
	}
	var blocked atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range batches {
			if d.pushBatch(context.Background(), changes(i*batch, batch)) {
				blocked.Add(1)
			}
		}
	}()
	waitUntil(t, "the reader to fill the queue", func() bool { return pending() >= maxPending })
	if p := pending(); p > maxPending+batch {
		t.Fatalf("pending = %d, above maxPending + one batch (%d)", p, maxPending+batch)
	}
	select {
	case <-done:
		t.Fatalf("the reader pushed everything into a stalled dispatcher; pending %d", pending())
	default:
	}

	go d.run()
	defer func() { d.close(); <-d.done }()
	<-done
	if blocked.Load() == 0 {
		t.Fatal("pushBatch never reported blocking")
	}
	waitUntil(t, "everything published", func() bool { return published.Load() == batch*batches })
	for i := range batch * batches {
		ev := <-mb.C()
		if ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
	if mb.Dropped() != 0 {
		t.Fatalf("dropped %d", mb.Dropped())
	}
}

// With one mailbox the reader publishes its chunks itself, but never ahead
// of what the dispatcher still holds: a chunk pushed while earlier ones
// wait (queued when more mailboxes were subscribed) goes behind them, and
// every event arrives once, in order.
func TestInlinePublishKeepsOrderBehindTheDispatcher(t *testing.T) {
	ps := quietPubSub()
	mb, other := pubsub.NewMailbox(4096), pubsub.NewMailbox(4096)
	t.Cleanup(mb.Close)
	t.Cleanup(other.Close)
	for _, m := range []*pubsub.Mailbox{mb, other} {
		if err := ps.Subscribe(m, pubsub.TopicAll()); err != nil {
			t.Fatal(err)
		}
	}
	var published atomic.Uint64
	d := newDispatcher(ps, &published) // not running yet
	d.inline = inlineMailboxes
	d.pushBatch(context.Background(), changes(0, 100)) // two mailboxes: queued
	if err := ps.Unsubscribe(other, pubsub.TopicAll()); err != nil {
		t.Fatal(err)
	}
	d.pushBatch(context.Background(), changes(100, 100)) // one mailbox, but behind the queue
	if got := published.Load(); got != 0 {
		t.Fatalf("%d events published ahead of the queued ones", got)
	}
	go d.run()
	defer func() { d.close(); <-d.done }()
	waitUntil(t, "everything published", func() bool { return published.Load() == 200 })
	d.pushBatch(context.Background(), changes(200, 100)) // idle dispatcher: published inline
	if got := published.Load(); got != 300 {
		t.Fatalf("published %d after an inline push, want 300", got)
	}
	for i := range 300 {
		var ev pubsub.Event
		select {
		case ev = <-mb.C():
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d did not arrive", i)
		}
		if ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
}
