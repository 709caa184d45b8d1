package listener

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

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
					for len(mb.C()) > 0 {
						<-mb.C()
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(c.batch*c.mailboxes*b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
