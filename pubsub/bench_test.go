package pubsub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// benchSizes are the fan-out widths of docs/performance.md, section 3.
var benchSizes = []int{1, 100, 1000, 10000}

// benchBlock events are published between two drains: below a mailbox's
// capacity, so the overflow path is never taken.
const benchBlock = 32

// fanout subscribes n mailboxes of the default capacity to TopicAll and
// returns them with a function that reads k events from each (blocking
// receives: events beyond C's small buffer reach it through the
// mailbox's pump).
func fanout(b *testing.B, n int) (*pubsub.PubSub, func(k int)) {
	b.Helper()
	ps := pubsub.New(quietLogger())
	mbs := make([]*pubsub.Mailbox, n)
	for i := range mbs {
		mbs[i] = pubsub.NewMailbox(pubsub.DefaultCapacity)
		if err := ps.Subscribe(mbs[i], pubsub.TopicAll()); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, mb := range mbs {
			mb.Close()
		}
	})
	return ps, func(k int) {
		for _, mb := range mbs {
			for range k {
				<-mb.C()
			}
		}
	}
}

// runFanout times publish, calling drain off the clock every benchBlock
// events, and reports the time per mailbox.
func runFanout(b *testing.B, n int, drain func(k int), publish func()) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		publish()
		if i++; i%benchBlock == 0 {
			b.StopTimer()
			drain(benchBlock)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/mailbox")
}

// BenchmarkBroadcast measures one event published with Broadcast to
// TopicAll and delivered to 1, 100, 1,000 and 10,000 mailboxes.
//
//	go test -run '^$' -bench Broadcast -count 6 ./pubsub | benchstat -
func BenchmarkBroadcast(b *testing.B) {
	ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "UPDATE", RowID: "42"}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("mailboxes=%d", n), func(b *testing.B) {
			ps, drain := fanout(b, n)
			runFanout(b, n, drain, func() { _ = ps.Broadcast(pubsub.TopicAll(), ev) })
		})
	}
}

// BenchmarkBroadcastChanges measures the Listener's path: one change per
// BroadcastChanges call (the worst case for batching), delivered to 1,
// 100, 1,000 and 10,000 mailboxes.
func BenchmarkBroadcastChanges(b *testing.B) {
	evs := []pubsub.Event{{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "UPDATE", RowID: "42"}}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("mailboxes=%d", n), func(b *testing.B) {
			ps, drain := fanout(b, n)
			runFanout(b, n, drain, func() { _ = ps.BroadcastChanges(evs) })
		})
	}
}

// BenchmarkBroadcastChangesBatch measures a batch of benchBlock changes of
// one table delivered to one mailbox subscribed to TopicAll: the cost per
// event when the Listener's dispatcher publishes a burst.
func BenchmarkBroadcastChangesBatch(b *testing.B) {
	evs := make([]pubsub.Event, benchBlock)
	for i := range evs {
		evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "INSERT", RowID: fmt.Sprint(i)}
	}
	ps, drain := fanout(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		_ = ps.BroadcastChanges(evs)
		b.StopTimer()
		drain(len(evs))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchBlock, "ns/event")
}

// BenchmarkBatches measures batches of 32 and 256 changes of one table
// (256 is the chunk the Listener's dispatcher hands over in a burst) to 1
// and 1,000 mailboxes of capacity 64 and 1,024 subscribed to TopicAll,
// reporting ns per event per mailbox. The mailboxes are emptied after
// every batch, off the clock.
func BenchmarkBatches(b *testing.B) {
	for _, n := range []int{32, 256} {
		for _, capacity := range []int{64, 1024} {
			if n > capacity {
				continue
			}
			for _, size := range []int{1, 1000} {
				b.Run(fmt.Sprintf("batch=%d/cap=%d/mailboxes=%d", n, capacity, size), func(b *testing.B) {
					ps := pubsub.New(quietLogger())
					mbs := make([]*pubsub.Mailbox, size)
					for i := range mbs {
						mbs[i] = pubsub.NewMailbox(capacity)
						if err := ps.Subscribe(mbs[i], pubsub.TopicAll()); err != nil {
							b.Fatal(err)
						}
					}
					defer func() {
						for _, mb := range mbs {
							mb.Close()
						}
					}()
					evs := make([]pubsub.Event, n)
					for i := range evs {
						evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "INSERT", RowID: fmt.Sprint(i)}
					}
					var spent time.Duration
					for b.Loop() {
						t := time.Now()
						_ = ps.BroadcastChanges(evs)
						spent += time.Since(t)
						for _, mb := range mbs {
							for range n {
								<-mb.C()
							}
						}
					}
					b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N)/float64(n*size), "ns/event/mailbox")
				})
			}
		}
	}
}
