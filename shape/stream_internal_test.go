package shape

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStreamedSnapshotFails: a SubscribeBatch subscriber handed a shape's
// snapshot while its query runs (snapshotStarted) gets, when that query
// fails, Reset and the retried snapshot whole, then UpToDate; one whose
// query succeeds gets UpToDate alone after it. Subscribe returns at the
// start, and a Subscribe subscriber (not batch) still waits for the end
// (and fails with the query, as before).
func TestStreamedSnapshotFails(t *testing.T) {
	r, _, _ := benchRouter(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = ctx
	defer func() { cancel(); r.jobs.Wait() }()
	for _, fail := range []bool{true, false} {
		bd, err := bind(Definition{Table: "items", Where: "tenant_id = $1", Params: []string{map[bool]string{true: "1", false: "2"}[fail]}}, &benchInfo)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := r.newShape(bd)
		if err != nil {
			t.Fatal(err)
		}
		sh.gen = 1
		batch, plain := newSubscription(r.m), newSubscription(r.m)
		batch.batch = true
		for _, sub := range []*Subscription{batch, plain} {
			sub.sh, sub.info, sub.waiting = sh, sh.info, true
			sh.subs = append(sh.subs, sub)
		}
		b := newRowsBuilder(sh.layout, []int{0})
		if err := b.add([][]byte{[]byte("7"), []byte("1"), []byte("x")}); err != nil {
			t.Fatal(err)
		}
		rows := b.stream()
		r.m.snapshots.Add(1)
		r.snapshotDone(snapResult{sh: sh, gen: 1, started: true, s: &snapshot{rows: rows}})
		select {
		case <-batch.ready:
		default:
			t.Fatal("SubscribeBatch still waits once the rows are being read")
		}
		select {
		case <-plain.ready:
			t.Fatal("Subscribe returned before the rows were read")
		default:
		}
		want := []MessageKind{Snapshot}
		if fail {
			b.fail(errors.New("the query failed"))
			r.snapshotDone(snapResult{sh: sh, gen: 1, err: ErrSnapshot})
			if sh.gen != 2 || !batch.reset || batch.streamed {
				t.Fatalf("after the failure: gen %d, reset %v, streamed %v; want 2, true, false", sh.gen, batch.reset, batch.streamed)
			}
			b = newRowsBuilder(sh.layout, []int{0})
			r.m.snapshots.Add(1)
			r.snapshotDone(snapResult{sh: sh, gen: 2, s: &snapshot{rows: b.rows()}})
			want = append(want, Reset, Snapshot)
		} else {
			out := b.rows()
			b.end()
			r.snapshotDone(snapResult{sh: sh, gen: 1, s: &snapshot{rows: out}})
		}
		want = append(want, UpToDate)
		for i, k := range want {
			select {
			case m := <-batch.C():
				if m.Kind != k {
					t.Fatalf("fail %v: message %d is %v, want %v", fail, i, m.Kind, k)
				}
				if i == 0 && m.Rows != rows {
					t.Fatalf("fail %v: the first Snapshot is not the streamed rows", fail)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("fail %v: no message %d (%v)", fail, i, k)
			}
		}
		select {
		case m := <-batch.C():
			t.Fatalf("fail %v: a %v message after UpToDate", fail, m.Kind)
		default:
		}
		if fail && plain.err == nil {
			t.Fatal("a Subscribe waiting for the failed snapshot did not fail")
		}
	}
}
