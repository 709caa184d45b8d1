package cluster

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// BenchmarkFollowerBatch measures a follower's work per change of a
// message (maxBatchChanges changes of one transaction to one table):
// decoding the body and handing its events to a PubSub with one mailbox
// subscribed to every table, drained meanwhile. "notify" changes carry a
// row id only, as from the NOTIFY source; "wal" ones a five-column row;
// "-alone" is a message of one change (a lone transaction's).
// For profiling the follower path (go test -bench FollowerBatch
// -cpuprofile); make bench measures the cluster as a whole.
func BenchmarkFollowerBatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		rows bool
		n    int
	}{{"notify", false, maxBatchChanges}, {"wal", true, maxBatchChanges}, {"notify-alone", false, 1}, {"wal-alone", true, 1}} {
		b.Run(tc.name, func(b *testing.B) {
			evs := make([]pubsub.Event, tc.n)
			for i := range evs {
				ev := benchEvent(b)
				ev.RowID, ev.Seq = strconv.Itoa(100000+i), uint64(i+1)
				if !tc.rows {
					ev.LSN, ev.Seq, ev.CommitTime, ev.New = 0, 0, time.Time{}, nil
				}
				evs[i] = ev
			}
			var enc encoder
			_, body, err := enc.encodeBatch("phoenixkitdb", evs)
			if err != nil {
				b.Fatal(err)
			}
			ps := pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			mb := pubsub.NewMailbox(1 << 16)
			if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
				b.Fatal(err)
			}
			drained := make(chan int)
			go func() {
				n := 0
				for range mb.C() {
					n++
				}
				drained <- n
			}()
			f := &Follower{ps: ps}
			var dec decoder
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				out, err := dec.decodeAll(f.evs[:0], body)
				if err != nil {
					b.Fatal(err)
				}
				f.seenStale.Store(true) // every iteration repeats the same positions
				f.deliver(out)
				clear(out)
				f.evs = out[:0]
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/change")
			mb.Close()
			<-drained
		})
	}
}

// A follower decodes a full batch of NOTIFY changes in a few allocations,
// not one per change: row ids share blocks. Ids decoded earlier stay as
// they were while later bodies are decoded into the same blocks.
func TestDecodeBatchAllocations(t *testing.T) {
	batch := func(first int) []byte {
		evs := make([]pubsub.Event, maxBatchChanges)
		for i := range evs {
			evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT",
				RowID: strconv.Itoa(first + i)}
		}
		var enc encoder
		_, body, err := enc.encodeBatch("phoenixkitdb", evs)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	var d decoder
	first, err := d.decodeAll(nil, batch(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	body := batch(5_000_000)
	dst := make([]pubsub.Event, 0, maxBatchChanges)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := d.decodeAll(dst[:0], body); err != nil {
			t.Fatal(err)
		}
	})
	// About 7 bytes an id: some 300 ids per 2 KiB block.
	if allocs > 8 {
		t.Errorf("%v allocations for a batch of %d changes", allocs, maxBatchChanges)
	}
	for i, ev := range first {
		if want := strconv.Itoa(1_000_000 + i); ev.RowID != want {
			t.Fatalf("change %d: row id %q after later decodes, want %q", i, ev.RowID, want)
		}
	}
}
