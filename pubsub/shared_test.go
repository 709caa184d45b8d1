package pubsub_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A mailbox subscribed to a second PubSub while the first publishes to
// it (the first one's deliveries skip the mailbox's lock while it is the
// only owner) receives every event of each PubSub once and in that
// PubSub's order; the race detector checks the hand-over.
func TestMailboxSharedByTwoPubSubsWhilePublishing(t *testing.T) {
	const n = 20000
	for round := range 5 {
		a, b := newPubSub(t), newPubSub(t)
		mb := pubsub.NewMailbox(4 * n)
		subscribe(t, a, mb, pubsub.TopicAll())

		var wg sync.WaitGroup
		publish := func(ps *pubsub.PubSub, prefix string) {
			defer wg.Done()
			for i := range n {
				if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", prefix+strconv.Itoa(i))}); err != nil {
					t.Error(err)
					return
				}
			}
		}
		wg.Add(1)
		go publish(a, "a")
		subscribe(t, b, mb, pubsub.TopicAll()) // while a publishes
		wg.Add(1)
		go publish(b, "b")

		next := map[string]int{"a": 0}
		got := 0
		timeout := time.After(20 * time.Second)
		for next["a"] < n || next["b"] < n {
			select {
			case ev := <-mb.C():
				p, num := ev.RowID[:1], ev.RowID[1:]
				if want := strconv.Itoa(next[p]); num != want {
					t.Fatalf("round %d: %s event %s after %d, want %s", round, p, num, next[p], want)
				}
				next[p]++
				got++
			case <-timeout:
				t.Fatalf("round %d: got a %d, b %d of %d each", round, next["a"], next["b"], n)
			}
		}
		wg.Wait()
		if mb.Dropped() != 0 {
			t.Fatalf("round %d: Dropped() = %d", round, mb.Dropped())
		}
		mb.Close()
		if s := a.Stats(); s.Mailboxes != 0 || s.Delivered != n {
			t.Fatalf("round %d: a stats %+v", round, s)
		}
	}
}
