package pubsub_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// eventually polls cond until it holds or fails the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// publishN publishes changes with row ids from, from+1, ... one by one.
func publishN(t *testing.T, ps *pubsub.PubSub, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// An idle mailbox of the default capacity holds a small channel buffer,
// not one slot per event it may hold.
func TestIdleMailboxHasASmallChannel(t *testing.T) {
	mb := pubsub.NewMailbox(pubsub.DefaultCapacity)
	defer mb.Close()
	if got := cap(mb.C()); got > 8 {
		t.Fatalf("cap(C()) = %d for capacity %d: the buffer is allocated up front", got, mb.Cap())
	}
	if mb.QueueChunks() != 0 || mb.Pumping() || mb.Len() != 0 {
		t.Fatalf("idle mailbox: %d chunks, pumping %v, Len %d", mb.QueueChunks(), mb.Pumping(), mb.Len())
	}
	// A small mailbox is a plain channel: capacity plus the Resync slot.
	small := pubsub.NewMailbox(2)
	defer small.Close()
	if got := cap(small.C()); got != 3 {
		t.Fatalf("cap(C()) = %d for capacity 2, want 3", got)
	}
}

// The queue behind C grows by chunks while the consumer is behind and
// gives every chunk back once it caught up; the pump ends with it.
func TestQueueGrowsAndShrinksBack(t *testing.T) {
	ps := newPubSub(t)
	const n = 300
	mb := pubsub.NewMailbox(n)
	defer mb.Close()
	subscribe(t, ps, mb, pubsub.TopicAll())

	publishN(t, ps, 0, n)
	if got := mb.Len(); got != n {
		t.Fatalf("Len() = %d after %d publications, want %d", got, n, n)
	}
	queued := n - cap(mb.C()) - 1 // at most one event is in the pump's hands
	if got, want := mb.QueueChunks(), (queued+pubsub.ChunkLen-1)/pubsub.ChunkLen; got < want {
		t.Fatalf("queue holds %d chunks for about %d events, want at least %d", got, queued, want)
	}
	if !mb.Pumping() {
		t.Fatal("events are queued but no pump is running")
	}
	for i := range n {
		if ev := recv(t, mb); ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
	eventually(t, 5*time.Second, "the pump to end", func() bool { return !mb.Pumping() })
	if got := mb.QueueChunks(); got != 0 {
		t.Fatalf("queue still holds %d chunks after the consumer caught up", got)
	}
	if got := mb.Len(); got != 0 {
		t.Fatalf("Len() = %d after reading everything", got)
	}
	// And it grows again on the next backlog, in order with what follows.
	publishN(t, ps, n, 50)
	for i := n; i < n+50; i++ {
		if ev := recv(t, mb); ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
}

// A consumer reading while the publisher runs ahead of it receives every
// event once, in publication order, through C's buffer and the queue.
func TestOrderThroughTheQueueWithAConcurrentReader(t *testing.T) {
	ps := newPubSub(t)
	const n = 20000
	mb := pubsub.NewMailbox(2 * n) // room for both copies: nothing drops
	defer mb.Close()
	subscribe(t, ps, mb, pubsub.TopicAll(), pubsub.TopicTable("public", "t"))

	errc := make(chan error, 1)
	go func() {
		for i := range 2 * n { // two copies: table topic, then TopicAll
			select {
			case ev := <-mb.C():
				if want := strconv.Itoa(i / 2); ev.RowID != want {
					errc <- fmt.Errorf("event %d is %v, want row %s", i, ev, want)
					return
				}
			case <-time.After(10 * time.Second):
				errc <- fmt.Errorf("event %d did not arrive", i)
				return
			}
		}
		errc <- nil
	}()
	// Single changes and batches mixed, as the Listener publishes them.
	for i := 0; i < n; {
		k := min(1+i%7, n-i)
		evs := make([]pubsub.Event, k)
		for j := range evs {
			evs[j] = change("t", "INSERT", strconv.Itoa(i+j))
		}
		if err := ps.BroadcastChanges(evs); err != nil {
			t.Fatal(err)
		}
		i += k
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if d := mb.Dropped(); d != 0 {
		t.Fatalf("Dropped() = %d", d)
	}
}

// With events queued behind C, the overflow rule is unchanged: the
// consumer reads every event that fit, in order, then one Resync, then
// what was published after it.
func TestOverflowResyncFollowsTheQueue(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(pubsub.DefaultCapacity)
	defer mb.Close()
	subscribe(t, ps, mb, pubsub.TopicAll())

	publishN(t, ps, 0, 100) // nobody reads: 64 fit
	if got := mb.Dropped(); got != 36 {
		t.Fatalf("Dropped() = %d, want 36", got)
	}
	ps.ResyncWith("manual") // coalesced with the unread overflow Resync
	for i := range 64 {
		if ev := recv(t, mb); ev.Kind != pubsub.TableChanged || ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
	if ev := recv(t, mb); ev.Kind != pubsub.Resync || ev.Reason != pubsub.ReasonOverflow {
		t.Fatalf("after the 64 events that fit got %v, want Resync(overflow)", ev)
	}
	publishN(t, ps, 100, 1)
	if ev := recv(t, mb); ev.RowID != "100" {
		t.Fatalf("after the Resync got %v", ev)
	}
	if got := drain(mb); len(got) != 0 {
		t.Fatalf("left over: %v", got)
	}
}

// Close stops a pump that is waiting for room in C, from the goroutine
// that reads C, without waiting for the consumer; what C buffered can
// still be read, then C is closed. goleak (TestMain) checks the pump ended.
func TestCloseFromTheReaderStopsThePump(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(pubsub.DefaultCapacity)
	subscribe(t, ps, mb, pubsub.TopicAll())
	publishN(t, ps, 0, 60)
	eventually(t, 5*time.Second, "the pump to wait for room in C", mb.Inflight)

	done := make(chan []pubsub.Event)
	go func() {
		var got []pubsub.Event
		got = append(got, <-mb.C())
		mb.Close() // from the reader, while the pump waits for room
		for ev := range mb.C() {
			got = append(got, ev)
		}
		done <- got
	}()
	var got []pubsub.Event
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close from the reader did not return, or C was never closed")
	}
	if mb.Pumping() {
		t.Fatal("the pump still runs after Close")
	}
	if len(got) < 2 || len(got) > 1+cap(mb.C()) {
		t.Fatalf("read %d events around Close, want the first and C's buffer", len(got))
	}
	for i, ev := range got {
		if ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
	if s := ps.Stats(); s.Mailboxes != 0 {
		t.Fatalf("closed mailbox still subscribed: %+v", s)
	}
	publishN(t, ps, 60, 1) // nothing to deliver to; must not panic
}

// Closing a mailbox whose pump is running, from another goroutine, while
// a publisher keeps publishing, neither blocks nor panics.
func TestCloseWhilePublishing(t *testing.T) {
	ps := newPubSub(t)
	for range 50 {
		mb := pubsub.NewMailbox(pubsub.DefaultCapacity)
		subscribe(t, ps, mb, pubsub.TopicAll())
		stop := make(chan struct{})
		published := make(chan struct{})
		go func() {
			defer close(published)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", strconv.Itoa(i))})
			}
		}()
		eventually(t, 5*time.Second, "a pump", mb.Pumping)
		<-mb.C()
		mb.Close()
		close(stop)
		<-published
		if mb.Pumping() {
			t.Fatal("the pump still runs after Close")
		}
	}
}

// Close stops a pump blocked on a full C that nobody reads.
func TestCloseStopsAPumpNobodyReads(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(pubsub.DefaultCapacity)
	subscribe(t, ps, mb, pubsub.TopicAll())
	publishN(t, ps, 0, 60)
	eventually(t, 5*time.Second, "the pump to wait for room in C", mb.Inflight)
	closed := make(chan struct{})
	go func() {
		mb.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while the pump waited for room in C")
	}
	if mb.Pumping() || mb.QueueChunks() != 0 {
		t.Fatalf("after Close: pumping %v, %d chunks", mb.Pumping(), mb.QueueChunks())
	}
	if got := len(drain(mb)); got != cap(mb.C()) {
		t.Fatalf("read %d events after Close, want C's buffer (%d)", got, cap(mb.C()))
	}
}

// A batch that arrives while events wait in the queue (a pump is due) is
// queued behind them as a whole run, across the queue's chunks: the
// consumer reads every event that fit in order, each a TableChanged even
// when published with a zero Kind, then one overflow Resync.
func TestBatchBehindTheQueueKeepsOrderAndOverflowRule(t *testing.T) {
	const capacity = 100
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(capacity)
	defer mb.Close()
	subscribe(t, ps, mb, pubsub.TopicAll())

	batch := func(from, n int) []pubsub.Event {
		evs := make([]pubsub.Event, n)
		for i := range evs {
			evs[i] = change("t", "INSERT", strconv.Itoa(from+i))
			if i%2 == 1 {
				evs[i].Kind = 0 // read as TableChanged
			}
		}
		return evs
	}
	// Nobody reads: C takes a few, the rest of the first batch is queued,
	// and the second batch arrives behind them.
	for _, b := range [][2]int{{0, 10}, {10, 150}} {
		if err := ps.BroadcastChanges(batch(b[0], b[1])); err != nil {
			t.Fatal(err)
		}
	}
	if got := mb.Dropped(); got != 160-capacity {
		t.Fatalf("Dropped() = %d, want %d", got, 160-capacity)
	}
	for i := range capacity {
		if ev := recv(t, mb); ev.Kind != pubsub.TableChanged || ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v (kind %v)", i, ev, ev.Kind)
		}
	}
	if ev := recv(t, mb); ev.Kind != pubsub.Resync || ev.Reason != pubsub.ReasonOverflow {
		t.Fatalf("after the %d events that fit got %v, want Resync(overflow)", capacity, ev)
	}
	if got := drain(mb); len(got) != 0 {
		t.Fatalf("left over: %v", got)
	}
}
