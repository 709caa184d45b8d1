package writecost_test

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/internal/writecost"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// TestMeasureSmoke runs a tiny measurement: every contender installs, takes
// writes and is reported, with and without a uuid column. It asserts no
// timings.
func TestMeasureSmoke(t *testing.T) {
	for _, noUUID := range []bool{false, true} {
		url := pgtest.NewDB(t, pg)
		res, err := writecost.Measure(t.Context(), url, writecost.Options{
			Rows: 500, Repeats: 1, WideBytes: 100, Clients: 2, Txns: 5, NoUUID: noUUID,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range writecost.AllContenders {
			m, ok := res.Get(c)
			if !ok || m.Bulk <= 0 || m.Single <= 0 || len(m.BulkSamples) != 1 {
				t.Errorf("NoUUID %v, contender %s: %+v, present %v", noUUID, c, m, ok)
			}
		}
		t.Log("\n" + res.String())
	}
}

// BenchmarkWriteCost re-measures the figures quoted in docs/triggers.md:
//
//	go test -run '^$' -bench WriteCost -benchtime 1x ./internal/writecost/
//
// Each sub-benchmark runs one full Measure (200,000 rows, median of 5) and
// reports each contender's bulk time relative to no trigger ("x-none") and
// the library row trigger's speed-up over the exception-block form.
func BenchmarkWriteCost(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts writecost.Options
	}{
		{"narrow", writecost.Options{Clients: 4}},
		{"narrow-id", writecost.Options{Clients: 4, NoUUID: true}},
		{"wide2000", writecost.Options{WideBytes: 2000}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := pgtest.NewDB(b, pg)
			for b.Loop() {
				res, err := writecost.Measure(b.Context(), url, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				for _, m := range res.Measured {
					b.ReportMetric(m.BulkRatio, string(m.Contender)+"-x-none")
				}
				b.ReportMetric(res.Speedup(writecost.LibraryRow, writecost.ExceptionBlocks), "row-speedup-vs-exception")
				b.ReportMetric(res.SpeedupCPU(writecost.LibraryRow, writecost.ExceptionBlocks), "row-cpu-speedup-vs-exception")
				b.Log("\n" + res.String())
			}
		})
	}
}
