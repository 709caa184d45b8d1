package listener

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// BenchmarkDispatchFanout times the dispatcher delivering one batch to
// many mailboxes subscribed to TopicAll, from pushBatch until the last
// event is published; the mailboxes are drained off the clock. It is the
// before/after measure for how the dispatcher splits a batch.
func BenchmarkDispatchFanout(b *testing.B) {
	for _, c := range []struct{ mailboxes, batch int }{{1, 1 << 16}, {100, 4096}, {1000, 512}} {
		b.Run(fmt.Sprintf("mailboxes=%d/batch=%d", c.mailboxes, c.batch), func(b *testing.B) {
			ps := pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			mbs := make([]*pubsub.Mailbox, c.mailboxes)
			for i := range mbs {
				mbs[i] = pubsub.NewMailbox(c.batch + 16)
				if err := ps.Subscribe(mbs[i], pubsub.TopicAll()); err != nil {
					b.Fatal(err)
				}
			}
			defer func() {
				for _, mb := range mbs {
					mb.Close()
				}
			}()
			evs := make([]pubsub.Event, c.batch)
			for i := range evs {
				evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "bench", Operation: "INSERT", RowID: strconv.Itoa(i)}
			}
			var published atomic.Uint64
			d := newDispatcher(ps, &published)
			go d.run()
			defer func() { d.close(); <-d.done }()
			want := uint64(0)
			for b.Loop() {
				want += uint64(c.batch)
				d.pushBatch(context.Background(), evs)
				for published.Load() < want {
					runtime.Gosched() // the machine may have no idle core to spin on
				}
				b.StopTimer()
				for _, mb := range mbs {
					for mb.Len() > 0 { // counts the events queued behind C
						select {
						case <-mb.C():
						default:
							runtime.Gosched()
						}
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(c.batch*c.mailboxes*b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkChunkedPublish compares, in one process and alternating at
// every iteration so that a noisy machine weighs on both alike, one
// BroadcastChanges call for a whole batch (the dispatcher before chunking)
// with the dispatcher's chunked publish. It reports the median ns per
// mailbox delivery of each and their ratio (chunked/whole).
func BenchmarkChunkedPublish(b *testing.B) {
	for _, c := range []struct{ mailboxes, batch int }{{1, 1 << 16}, {100, 4096}, {1000, 512}, {1000, 2048}} {
		b.Run(fmt.Sprintf("mailboxes=%d/batch=%d", c.mailboxes, c.batch), func(b *testing.B) {
			ps := pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			mbs := make([]*pubsub.Mailbox, c.mailboxes)
			for i := range mbs {
				mbs[i] = pubsub.NewMailbox(c.batch + 16)
				if err := ps.Subscribe(mbs[i], pubsub.TopicAll()); err != nil {
					b.Fatal(err)
				}
			}
			defer func() {
				for _, mb := range mbs {
					mb.Close()
				}
			}()
			evs := make([]pubsub.Event, c.batch)
			for i := range evs {
				evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "bench", Operation: "INSERT", RowID: strconv.Itoa(i)}
			}
			var published atomic.Uint64
			d := newDispatcher(ps, &published)
			drain := func() {
				for _, mb := range mbs {
					for mb.Len() > 0 { // counts the events queued behind C
						select {
						case <-mb.C():
						default:
							runtime.Gosched()
						}
					}
				}
			}
			var whole, chunked []float64
			per := float64(c.batch * c.mailboxes)
			i := 0
			for b.Loop() {
				for k := range 2 {
					start := time.Now()
					if (i+k)%2 == 0 {
						_ = ps.BroadcastChanges(evs)
						whole = append(whole, float64(time.Since(start).Nanoseconds())/per)
					} else {
						d.publish(evs)
						chunked = append(chunked, float64(time.Since(start).Nanoseconds())/per)
					}
					drain()
				}
				i++
			}
			w, ch := median(whole), median(chunked)
			b.ReportMetric(w, "whole-ns/delivery")
			b.ReportMetric(ch, "chunked-ns/delivery")
			b.ReportMetric(ch/w, "chunked/whole")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
