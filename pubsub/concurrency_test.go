package pubsub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Nothing a subscriber does can deadlock or panic the PubSub: never
// reading, closing twice, unsubscribing or closing from inside its own
// reading loop, subscribing while broadcasts run. The test ends (and
// goleak passes) only if every goroutine finishes.
func TestSubscriberMisbehaviourCannotDeadlock(t *testing.T) {
	ps := newPubSub(t)
	topic := pubsub.TopicTable("public", "t")
	abandoned := pubsub.NewMailbox(1) // never read
	subscribe(t, ps, abandoned, topic, pubsub.TopicAll())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup

	// Publishers.
	for p := range 2 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				ev := change("t", "INSERT", fmt.Sprint(p, "-", i))
				if err := ps.BroadcastChanges([]pubsub.Event{ev, ev}); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					ps.Resync()
				}
			}
		})
	}
	// Readers that unsubscribe, resubscribe and close from inside their loops.
	for r := range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				mb := pubsub.NewMailbox(2)
				if err := ps.Subscribe(mb, topic); err != nil {
					t.Error(err)
					return
				}
				n := 0
			read:
				for {
					select {
					case _, ok := <-mb.C():
						if !ok {
							break read
						}
						n++
						switch {
						case n%7 == 0:
							_ = ps.Unsubscribe(mb, topic)
							_ = ps.Subscribe(mb, pubsub.TopicAll())
						case n%11 == 0:
							_ = ps.Subscribe(mb, topic)
						case n > 20+r:
							mb.Close()
							mb.Close()
						}
					case <-ctx.Done():
						mb.Close()
					}
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("deadlock: goroutines did not finish")
	}
	abandoned.Close()
	abandoned.Close()
	if abandoned.Dropped() == 0 {
		t.Fatal("the abandoned mailbox never overflowed: the test did not exercise it")
	}
}

func TestServeReportsAndStops(t *testing.T) {
	ps := pubsub.NewWithOptions(pubsub.Options{Logger: quietLogger(), ReportInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ps.Serve(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !ps.Serving() {
		if time.Now().After(deadline) {
			t.Fatal("Serve did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ps.Serve(ctx); err == nil {
		t.Fatal("second concurrent Serve returned nil")
	}
	cancel()
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}
