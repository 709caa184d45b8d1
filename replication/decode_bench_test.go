package replication

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// BenchmarkDecodeAndPublish measures the per-row cost of decoding an
// INSERT (bigint and uuid columns) and handing it to a PubSub with one
// subscribed mailbox, without the network.
func BenchmarkDecodeAndPublish(b *testing.B) {
	ps := pubsub.New(slog.New(slog.DiscardHandler))
	mb := pubsub.NewMailbox(1 << 20)
	defer mb.Close()
	if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
		b.Fatal(err)
	}
	s := &Source{cfg: Config{Slot: "s"}, log: slog.New(slog.DiscardHandler), ps: ps}
	ss := &session{s: s, relations: map[uint32]*relation{}}
	if err := ss.message(relationMsg()); err != nil {
		b.Fatal(err)
	}
	ins := insertMsg()
	ss.begin(1000, 1, time.Time{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := ss.message(ins); err != nil {
			b.Fatal(err)
		}
		if i%(1<<19) == 0 {
			for mb.Len() > 0 { // counts the events queued behind C
				select {
				case <-mb.C():
				default:
					runtime.Gosched()
				}
			}
		}
	}
	ss.flush()
}
