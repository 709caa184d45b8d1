package shape

import (
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// benchRouter returns a router, with no server behind it, holding n live
// shapes "tenant_id = $1" on one table, shape i (tenant i) holding the row
// of key i, and a subscriber on shape 0.
func benchRouter(tb testing.TB, n int) (*router, *table, *Subscription) {
	tb.Helper()
	m := &Manager{cfg: Config{Buffer: DefaultBuffer, FetchBatch: 100}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m.r.init(m)
	var sub *Subscription
	for i := range n {
		sh := addBenchShape(tb, &m.r, "tenant_id = $1", []string{strconv.Itoa(i)}, strconv.Itoa(i))
		if i == 0 {
			sub = newSubscription(m)
			sub.sh, sub.info = sh, sh.info
			sh.subs = append(sh.subs, sub)
		}
	}
	return &m.r, m.r.tables[tkey{"public", "items"}], sub
}

// benchInfo describes the bench table items(id, tenant_id, note).
var benchInfo = tableInfo{schema: "public", name: "items", key: []string{"id"}, cols: []Column{
	{Name: "id", OID: 20, Type: "bigint", DecodeOID: 20},
	{Name: "tenant_id", OID: 20, Type: "bigint", DecodeOID: 20},
	{Name: "note", OID: 25, Type: "text", DecodeOID: 25},
}}

// addBenchShape adds a live shape of the bench table to r, holding keys.
func addBenchShape(tb testing.TB, r *router, where string, params []string, keys ...string) *shape {
	tb.Helper()
	info := &benchInfo
	if t := r.tables[tkey{"public", "items"}]; t != nil {
		info = t.info
	}
	bd, err := bind(Definition{Table: "items", Where: where, Params: params}, info)
	if err != nil {
		tb.Fatal(err)
	}
	sh, err := r.newShape(bd)
	if err != nil {
		tb.Fatal(err)
	}
	r.m.snapshots.Add(1)
	r.snapshotDone(snapResult{sh: sh, gen: sh.gen, s: &snapshot{rows: keyRows(keys)}})
	sh.tbl.settle() // the benchmarks measure routing, not the first change's indexing
	return sh
}

// benchRow returns a row of the bench table.
func benchRow(tb testing.TB, t *table, id, tenant int, note string) *pubsub.Row {
	tb.Helper()
	row, err := pubsub.NewRow(t.layout, []pubsub.Cell{
		{State: pubsub.Present, Text: []byte(strconv.Itoa(id))},
		{State: pubsub.Present, Text: []byte(strconv.Itoa(tenant))},
		{State: pubsub.Present, Text: []byte(note)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return row
}

// toastRow returns a row of the bench table whose note is unchanged
// TOAST, as an UPDATE with the default replica identity sends it.
func toastRow(tb testing.TB, t *table, id, tenant int) *pubsub.Row {
	tb.Helper()
	row, err := pubsub.NewRow(t.layout, []pubsub.Cell{
		{State: pubsub.Present, Text: []byte(strconv.Itoa(id))},
		{State: pubsub.Present, Text: []byte(strconv.Itoa(tenant))},
		{State: pubsub.UnchangedTOAST},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return row
}

// BenchmarkShapesUpdate routes an UPDATE (default replica identity: no
// old row) of a row held by one shape among shapes=N on its table, up to
// the Update message in that shape's subscriber's channel. shapes=1 is
// the baseline: the same change with no other shape on the table.
func BenchmarkShapesUpdate(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		// The testing package calls a sub-benchmark several times as it
		// sizes b.N: build the router once, and keep LSNs rising.
		r, t, sub := benchRouter(b, n)
		ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: pubsub.Update,
			RowID: "0", New: benchRow(b, t, 0, 0, "changed")}
		b.Run("shapes="+strconv.Itoa(n), func(b *testing.B) {
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ev.LSN, ev.Seq = ev.LSN+1, 1
				r.walEvent(t, &ev, nil)
				if msg := <-sub.ch; msg.Kind != Update {
					b.Fatalf("got %v, want update", msg.Kind)
				}
			}
		})
	}
}

// BenchmarkShapesUpdateTOAST is BenchmarkShapesUpdate with the note
// column unchanged TOAST (not in the WAL row): the index still selects
// the shapes, none of which reads note.
func BenchmarkShapesUpdateTOAST(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		r, t, sub := benchRouter(b, n) // once: see BenchmarkShapesUpdate
		ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: pubsub.Update,
			RowID: "0", New: toastRow(b, t, 0, 0)}
		b.Run("shapes="+strconv.Itoa(n), func(b *testing.B) {
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ev.LSN, ev.Seq = ev.LSN+1, 1
				r.walEvent(t, &ev, nil)
				if msg := <-sub.ch; msg.Kind != Update {
					b.Fatalf("got %v, want update", msg.Kind)
				}
			}
		})
	}
}

// BenchmarkShapesDelete routes a DELETE of a row held by one shape among
// shapes=N; shapes=1 is the baseline. The shape holds a block of rows of
// its tenant, deleted one per iteration and inserted again (not timed)
// once the block is gone: stopping the timer reads the memory statistics,
// which stops the world, so doing it after every delete would take
// minutes and measure the runtime instead.
func BenchmarkShapesDelete(b *testing.B) {
	const block = 1024
	for _, n := range []int{1, 100_000} {
		r, t, sub := benchRouter(b, n) // once: see BenchmarkShapesUpdate
		dels, inss := make([]pubsub.Event, block), make([]pubsub.Event, block)
		for k := range block {
			id := 1_000_000_000 + k
			dels[k] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: pubsub.Delete,
				RowID: strconv.Itoa(id)}
			inss[k] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: pubsub.Insert,
				RowID: strconv.Itoa(id), New: benchRow(b, t, id, 0, "again")}
		}
		var lsn pubsub.LSN
		fill := func(b *testing.B) {
			for k := range inss {
				lsn++
				inss[k].LSN = lsn
				r.walEvent(t, &inss[k], nil)
				if msg := <-sub.ch; msg.Kind != Insert {
					b.Fatalf("got %v, want insert", msg.Kind)
				}
			}
		}
		b.Run("shapes="+strconv.Itoa(n), func(b *testing.B) {
			fill(b)
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % block
				if k == 0 && i > 0 {
					b.StopTimer()
					fill(b)
					b.StartTimer()
				}
				lsn++
				dels[k].LSN = lsn
				r.walEvent(t, &dels[k], nil)
				if msg := <-sub.ch; msg.Kind != Delete {
					b.Fatalf("got %v, want delete", msg.Kind)
				}
			}
			b.StopTimer()
			// Delete what is left of the block, so the next call of this
			// function starts from the same rows.
			for k := b.N % block; k > 0 && k < block; k++ {
				lsn++
				dels[k].LSN = lsn
				r.walEvent(t, &dels[k], nil)
				<-sub.ch
			}
		})
	}
}

// BenchmarkShapesEnd ends one shape among n on its table (the last
// subscriber gone and Grace passed, or evicted) and creates it again, as
// the router does: ending 100,000 shapes at once must not cost the square
// of their number.
func BenchmarkShapesEnd(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		r, _, _ := benchRouter(b, n) // once: see BenchmarkShapesUpdate
		next := n
		b.Run("shapes="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				// A shape near the front of the table's list, as the
				// oldest are.
				r.drop(r.tables[tkey{"public", "items"}].shapes[1])
				key := strconv.Itoa(next)
				next++
				addBenchShape(b, r, "tenant_id = $1", []string{key}, key)
			}
			if len(r.shapes) != n {
				b.Fatal(len(r.shapes), "shapes, want", n)
			}
		})
	}
}

// BenchmarkShapesIdleMemory reports the heap held per idle shape
// "id = $1" (no row) with one subscriber, as the router holds it (no
// server behind it): run with -memprofile to see where the bytes go.
func BenchmarkShapesIdleMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		before := liveHeap()
		r, _, _ := benchRouter(b, 1)
		subs := make([]*Subscription, 0, n)
		for i := range n {
			sh := addBenchShape(b, r, "id = $1", []string{strconv.Itoa(-1 - i)})
			sub := newSubscription(r.m)
			sub.sh, sub.info = sh, sh.info
			sh.subs = append(sh.subs, sub)
			subs = append(subs, sub)
		}
		b.ReportMetric(float64(liveHeap()-before)/n, "B/shape")
		runtime.KeepAlive(r)
		runtime.KeepAlive(subs)
	}
}

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkShapesKeyMemory reports the heap held per key of a shape
// holding 100,000 keys (bigint texts, the key strings included): B/key
// for the first shape holding them, B/sharedkey for a second shape
// holding the same keys.
func BenchmarkShapesKeyMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		r, t, _ := benchRouter(b, 2)
		before := liveHeap()
		keys := make([]string, n)
		for i := range keys {
			keys[i] = strconv.Itoa(1_000_000 + i)
		}
		t.setKeys(t.shapes[0], keys)
		t.settle()
		keys = nil
		mid := liveHeap()
		b.ReportMetric(float64(mid-before)/n, "B/key")
		keys = make([]string, n)
		for i := range keys {
			keys[i] = strconv.Itoa(1_000_000 + i)
		}
		t.setKeys(t.shapes[1], keys)
		t.settle()
		keys = nil
		b.ReportMetric(float64(liveHeap()-mid)/n, "B/sharedkey")
		runtime.KeepAlive(r)
	}
}

// keyRows returns Rows holding only keys (no texts): what setKeys reads.
func keyRows(keys []string) *Rows {
	r := &Rows{}
	for _, k := range keys {
		p := r.page()
		p.keys = append(p.keys, k)
		r.n++
	}
	return r
}
