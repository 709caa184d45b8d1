package where_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// The BenchmarkShapes* benchmarks are section "shapes" of make bench
// (bench/shape.go runs them): each routing figure has a hand-written
// baseline in the same run, doing the least any router must do.

// benchColumns is the table of the benchmarks: orders(id, tenant_id,
// status, total).
var benchColumns = []where.Column{{Name: "id", OID: 20}, {Name: "tenant_id", OID: 20},
	{Name: "status", OID: 25, Collation: "C"}, {Name: "total", OID: 1700}}

func benchRow(tb testing.TB, tenant int, status, total string) *pubsub.Row {
	tb.Helper()
	l, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "tenant_id", OID: 20},
		{Name: "status", OID: 25}, {Name: "total", OID: 1700}})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := pubsub.NewRow(l, []pubsub.Cell{{State: pubsub.Present, Text: []byte("12345")},
		{State: pubsub.Present, Text: []byte(strconv.Itoa(tenant))}, {State: pubsub.Present, Text: []byte(status)},
		{State: pubsub.Present, Text: []byte(total)}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func mustPred(tb testing.TB, clause string, params ...string) *where.Pred {
	tb.Helper()
	e, err := where.Parse(clause)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := where.Bind(e, benchColumns, params)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// tenantIndex files n shapes "tenant_id = $1", tenants 0..n-1.
func tenantIndex(tb testing.TB, n int) *where.Index {
	ix := where.NewIndex()
	for i := range n {
		ix.Add(uint64(i), mustPred(tb, "tenant_id = $1", strconv.Itoa(i)))
	}
	return ix
}

var benchSizes = []int{1000, 10_000, 100_000}

// BenchmarkShapesNoMatch routes a change that matches none of n shapes
// "tenant_id = $1" (MatchTrue: index and evaluation).
func BenchmarkShapesNoMatch(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("shapes=%d", n), func(b *testing.B) {
			ix := tenantIndex(b, n)
			r := benchRow(b, n+7, "open", "10")
			hits := 0
			b.ResetTimer()
			for range b.N {
				ix.MatchTrue(r, func(uint64, error) { hits++ })
			}
			if hits != 0 {
				b.Fatal(hits, "matches")
			}
		})
	}
}

// BenchmarkShapesBoundAddRemove adds a shape "total > $1" to an index of
// n such shapes (bounds spread at random) and removes it: the cost of
// creating and ending one shape, which must not grow with the others.
func BenchmarkShapesBoundAddRemove(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("shapes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(uint64(n), 1))
			bound := func() *where.Pred {
				return mustPred(b, "total > $1", strconv.Itoa(r.IntN(1<<30)))
			}
			ix := where.NewIndex()
			for i := range n {
				ix.Add(uint64(i), bound())
			}
			extra := make([]*where.Pred, 1024)
			for i := range extra {
				extra[i] = bound()
			}
			i := 0
			for b.Loop() {
				id := uint64(n + i%len(extra))
				ix.Add(id, extra[i%len(extra)])
				ix.Remove(id)
				i++
			}
			if ix.Len() != n {
				b.Fatal(ix.Len(), "shapes left, want", n)
			}
		})
	}
}

// BenchmarkShapesBetweenNoMatch routes a change whose total is outside
// all of n ranges "total BETWEEN $1 AND $2" (disjoint, above the change's
// total and below it): the interval tree looks at O(log n) of them.
func BenchmarkShapesBetweenNoMatch(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("shapes=%d", n), func(b *testing.B) {
			ix := where.NewIndex()
			for i := range n {
				// Half the ranges below the change's total, half above.
				lo := 10*i - 5*n
				ix.Add(uint64(i), mustPred(b, "total BETWEEN $1 AND $2", strconv.Itoa(lo), strconv.Itoa(lo+5)))
			}
			r := benchRow(b, 1, "open", "7.5")
			benchNoMatch(b, ix, r)
		})
	}
}

// BenchmarkShapesOrNoMatch routes a change that matches none of n shapes
// "tenant_id = $1 OR status = $2", filed under both disjuncts.
func BenchmarkShapesOrNoMatch(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("shapes=%d", n), func(b *testing.B) {
			ix := where.NewIndex()
			for i := range n {
				ix.Add(uint64(i), mustPred(b, "tenant_id = $1 OR status = $2", strconv.Itoa(i), "s"+strconv.Itoa(i)))
			}
			benchNoMatch(b, ix, benchRow(b, n+7, "open", "10"))
		})
	}
}

// benchNoMatch times MatchTrue of r, which no predicate of ix holds.
func benchNoMatch(b *testing.B, ix *where.Index, r *pubsub.Row) {
	hits := 0
	b.ResetTimer()
	for range b.N {
		ix.MatchTrue(r, func(uint64, error) { hits++ })
	}
	if hits != 0 {
		b.Fatal(hits, "matches")
	}
}

// BenchmarkShapesMatchOne routes a change that matches one of n shapes.
func BenchmarkShapesMatchOne(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("shapes=%d", n), func(b *testing.B) {
			ix := tenantIndex(b, n)
			r := benchRow(b, n/2, "open", "10")
			hits := 0
			b.ResetTimer()
			for range b.N {
				ix.MatchTrue(r, func(uint64, error) { hits++ })
			}
			if hits != b.N {
				b.Fatal(hits, "matches for", b.N)
			}
		})
	}
}

// BenchmarkShapesBaselineLookup is the hand-written minimum of the two
// above: read the column's text, parse it, look it up in a Go map of
// shape ids by tenant (100,000 tenants).
func BenchmarkShapesBaselineLookup(b *testing.B) {
	m := make(map[int64][]uint64, 100_000)
	for i := range 100_000 {
		m[int64(i)] = []uint64{uint64(i)}
	}
	r := benchRow(b, 50_000, "open", "10")
	hits := 0
	b.ResetTimer()
	for range b.N {
		text, _ := r.Text("tenant_id")
		n, _ := strconv.ParseInt(text, 10, 64)
		for range m[n] {
			hits++
		}
	}
	if hits != b.N {
		b.Fatal(hits)
	}
}

// overlapShapes is the number of shapes one change matches in
// BenchmarkShapesOverlap.
const overlapShapes = 1000

// BenchmarkShapesOverlap routes a change matched by all of 1,000 shapes
// "status = 'open' AND total > $1"; the per-shape figure is ns/op / 1000.
func BenchmarkShapesOverlap(b *testing.B) {
	ix := where.NewIndex()
	for i := range overlapShapes {
		ix.Add(uint64(i), mustPred(b, "status = 'open' AND total > $1", strconv.Itoa(i)))
	}
	r := benchRow(b, 1, "open", "5000.25")
	hits := 0
	b.ResetTimer()
	for range b.N {
		ix.MatchTrue(r, func(uint64, error) { hits++ })
	}
	if hits != b.N*overlapShapes {
		b.Fatal(hits, "matches")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/overlapShapes, "ns/shape")
}

// BenchmarkShapesBaselineOverlap is the hand-written minimum of the
// above: one string comparison and one exact decimal comparison per
// shape (math/big would be slower; totals are compared as the int64
// cents a hand-written router for this one table would use).
func BenchmarkShapesBaselineOverlap(b *testing.B) {
	thresholds := make([]int64, overlapShapes)
	for i := range thresholds {
		thresholds[i] = int64(i) * 100
	}
	r := benchRow(b, 1, "open", "5000.25")
	hits := 0
	b.ResetTimer()
	for range b.N {
		status, _ := r.Text("status")
		total, _ := r.Text("total")
		cents := parseCents(total)
		for _, th := range thresholds {
			if status == "open" && cents > th {
				hits++
			}
		}
	}
	if hits != b.N*overlapShapes {
		b.Fatal(hits)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/overlapShapes, "ns/shape")
}

// parseCents parses "5000.25" as 500025.
func parseCents(s string) int64 {
	var n int64
	frac := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			frac = 0
			continue
		}
		if frac >= 0 {
			if frac == 2 {
				break
			}
			frac++
		}
		n = n*10 + int64(s[i]-'0')
	}
	for frac < 2 {
		n *= 10
		if frac < 0 {
			frac = 0
		}
		frac++
	}
	return n
}

// BenchmarkShapesMemory reports the heap one "tenant_id = $1" shape holds:
// its Pred alone (B/pred) and filed in an index (B/shape), over 100,000.
func BenchmarkShapesMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		preds := make([]*where.Pred, n)
		h0 := heap()
		for i := range preds {
			preds[i] = mustPred(b, "tenant_id = $1", strconv.Itoa(i))
		}
		h1 := heap()
		ix := where.NewIndex()
		for i, p := range preds {
			ix.Add(uint64(i), p)
		}
		h2 := heap()
		runtime.KeepAlive(preds)
		runtime.KeepAlive(ix)
		b.ReportMetric((h1-h0)/n, "B/pred")
		b.ReportMetric((h2-h0)/n, "B/shape")
	}
}

func heap() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}
