package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestLatencies: only rows that arrived count, each as arrival minus its
// own commit, in µs.
func TestLatencies(t *testing.T) {
	commit := []int64{1_000_000, 2_000_000, 3_000_000}
	arrived := []int64{1_250_000, 0, 4_500_000}
	got := latencies(commit, arrived)
	if want := []float64{250, 1500}; !slices.Equal(got, want) {
		t.Fatalf("latencies = %v, want %v", got, want)
	}
}

// TestPairedRatios: a[i]/b[i] per repetition; a repetition without a
// baseline is skipped rather than dividing by zero.
func TestPairedRatios(t *testing.T) {
	got := pairedRatios([]float64{2, 3, 4}, []float64{4, 0, 2, 7})
	if want := []float64{0.5, 2}; !slices.Equal(got, want) {
		t.Fatalf("pairedRatios = %v, want %v", got, want)
	}
	if m := median(pairedRatios([]float64{1}, nil)); !math.IsNaN(m) {
		t.Fatalf("median of no pairs = %v, want NaN", m)
	}
}

// TestPairedDiffs: a[i]-b[i] per repetition both measured, so that the
// ack mailbox's cost is read on the same commits as the plain Source's.
func TestPairedDiffs(t *testing.T) {
	got := pairedDiffs([]float64{1500, 900, 4000}, []float64{1000, 1200})
	if want := []float64{500, -300}; !slices.Equal(got, want) {
		t.Fatalf("pairedDiffs = %v, want %v", got, want)
	}
}

// TestTableWALRows: the section's units render readably, the baseline's
// ratio shows as 1.00x, and a missed goal says so in a full run.
func TestTableWALRows(t *testing.T) {
	bare := sample(walSection, "decode", nameBareRepl, "rows/s", []float64{400e3, 450e3, 500e3})
	bare.Ratio = 1
	src := sample(walSection, "decode", nameSource, "rows/s", []float64{300e3, 320e3, 340e3})
	src.Ratio = median(pairedRatios(src.Samples, bare.Samples))
	src.goal("at least 1.00x bare pglogrepl", src.Ratio >= 1)
	lat := sample(walSection, "p99", nameSource, "µs", []float64{900, 1400, 2900})
	lat.goal("at most 5 ms", lat.Median <= 5000)
	wc := sample(walSection, "1-row txns", nameWithSource, "txn/s", []float64{14.2e3})
	out := table([]Row{bare, src, lat, wc}, true)
	for _, want := range []string{
		"450.0k rows/s", "400.0k rows/s .. 500.0k rows/s", "1.00x",
		"320.0k rows/s", "0.71x", "at least 1.00x bare pglogrepl: NOT MET",
		"1400 µs", "at most 5 ms: MET", "14.2k txn/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, walSection) != 1 {
		t.Errorf("the section's name should print once:\n%s", out)
	}
}

// TestDefaultSectionsIncludeWAL: a plain `make bench` runs section 7.
func TestDefaultSectionsIncludeWAL(t *testing.T) {
	if !slices.Contains(strings.Split(defaultSections, ","), "wal") {
		t.Fatalf("default sections %q lack wal", defaultSections)
	}
}
