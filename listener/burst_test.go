package listener_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A burst of 100,000 NOTIFYs in one transaction reaches a fast mailbox
// complete and in order, while a slow mailbox on the same topic loses
// events and gets its Resync instead of holding anybody up.
func TestBurstOf100kInOneTransaction(t *testing.T) {
	const n = 100_000
	b := setup(t, options{capacity: n + 16})
	slow := pubsub.NewMailbox(16)
	defer slow.Close()
	if err := b.l.SubscribeAll(slow); err != nil {
		t.Fatal(err)
	}
	expectResync(t, b.mb, 10*time.Second)
	expectResync(t, slow, time.Second)

	conn := connect(t, b.url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := conn.Exec(ctx, `SELECT pg_notify($1, 'public.burst:INSERT:' || g) FROM generate_series(1, $2::int) g`,
		listener.DefaultChannel, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		ev := next(t, b.mb, 30*time.Second)
		if ev.Kind != pubsub.TableChanged || ev.RowID != strconv.Itoa(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
	}
	if d := b.mb.Dropped(); d != 0 {
		t.Fatalf("fast mailbox dropped %d", d)
	}

	got := drainAll(slow)
	if len(got) != 17 || got[16].Kind != pubsub.Resync || got[16].Reason != pubsub.ReasonOverflow {
		t.Fatalf("slow mailbox got %d events ending %v; want 16 changes and a Resync", len(got), got[len(got)-1])
	}
	for i, ev := range got[:16] {
		if ev.RowID != strconv.Itoa(i+1) {
			t.Fatalf("slow event %d is %v", i, ev)
		}
	}
	if slow.Dropped() != n-16 {
		t.Fatalf("slow Dropped() = %d", slow.Dropped())
	}
	eventually(t, 5*time.Second, "Published count", func() bool { return b.l.Stats().Published == n })
	if s := b.l.Stats(); s.Received != n || s.Published != n {
		t.Fatalf("Stats = %+v", s)
	}
	t.Logf("burst of %d delivered; slow mailbox dropped %d", n, slow.Dropped())
}

// drainAll returns everything mb holds: what C has buffered and what waits
// in the mailbox's queue behind it, which the mailbox hands to C a moment
// later (Mailbox.Len counts both).
func drainAll(mb *pubsub.Mailbox) []pubsub.Event {
	var out []pubsub.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case ev := <-mb.C():
			out = append(out, ev)
			continue
		default:
		}
		if mb.Len() == 0 || time.Now().After(deadline) {
			return out
		}
		runtime.Gosched() // the mailbox's pump is handing the next event to C
	}
}
