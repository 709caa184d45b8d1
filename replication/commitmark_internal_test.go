package replication

import (
	"context"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestCommitMarksResume: a transaction cut off after some of its marks
// went out resumes with the rest of them only, Seq unchanged; one cut
// off among its changes resumes with every mark; one handed over whole
// sends none again.
func TestCommitMarksResume(t *testing.T) {
	for _, tc := range []struct {
		name      string
		handed    int // events of the transaction that went out: 3 changes, then 2 marks
		wantMarks []uint64
	}{
		{"among the changes", 2, []uint64{4, 5}},
		{"after the changes", 3, []uint64{4, 5}},
		{"among the marks", 4, []uint64{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, _ := testSession(t, Config{Slot: "s"})
			ss.chunk = append(ss.chunk, pubsub.Event{LSN: 500, Seq: 1}) // an earlier, whole transaction
			var evs []pubsub.Event
			for i := 1; i <= 3; i++ {
				evs = append(evs, pubsub.Event{Kind: pubsub.TableChanged, LSN: 1000, Seq: uint64(i)})
			}
			evs = append(evs, pubsub.Event{Kind: pubsub.Committed, LSN: 1000, Seq: 4}, pubsub.Event{Kind: pubsub.Committed, LSN: 1000, Seq: 5})
			handed := append([]pubsub.Event{{LSN: 500, Seq: 1}}, evs[:tc.handed]...)
			ss.abandon(handed, evs[tc.handed:], context.Canceled)
			if p := ss.s.pos; p.lastCommit != 500 || p.partialLSN != 1000 || p.partialCount != tc.handed {
				t.Fatalf("position after the cut: %+v", p)
			}
			ss.gate.halted = nil
			feed(t, ss, beginAt(1000), insertMsg(), insertMsg(), insertMsg(), commitAt(1000, 1100))
			var got []uint64
			for _, ev := range ss.chunk {
				if ev.Kind == pubsub.Committed {
					got = append(got, ev.Seq)
					if ev.LSN != 1000 || ev.Xid != 7 {
						t.Fatalf("mark %+v", ev)
					}
				}
			}
			changes := len(ss.chunk) - len(got)
			if want := max(3-tc.handed, 0); changes != want || len(got) != len(tc.wantMarks) || got[0] != tc.wantMarks[0] {
				t.Fatalf("resumed with %d changes and marks %v, want %d and %v", changes, got, want, tc.wantMarks)
			}
			last := ss.chunk[len(ss.chunk)-1]
			if last.Table != "" || last.Count != 3 {
				t.Fatalf("TopicAll's mark %+v, want no table and Count 3", last)
			}
			// Handed over whole: replayed, nothing goes out again.
			if !ss.flush() {
				t.Fatal("flush did not complete the transaction")
			}
			feed(t, ss, beginAt(1000), insertMsg(), commitAt(1000, 1100))
			if len(ss.chunk) != 0 {
				t.Fatalf("a replayed transaction queued %v", ss.chunk)
			}
		})
	}
}
