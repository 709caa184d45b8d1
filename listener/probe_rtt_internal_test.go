package listener

import (
	"testing"
	"time"
)

// A duration lands in the first bucket whose bound it does not exceed;
// one above every bound lands in the last, open bucket.
func TestRTTHistogramBuckets(t *testing.T) {
	var h rttHistogram
	for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 5 * time.Second, time.Minute} {
		h.observe(d)
	}
	s := h.snapshot()
	want := map[int]uint64{0: 1, 1: 1, 2: 1, len(probeRTTBounds) - 1: 1, len(probeRTTBounds): 1}
	for i, c := range s.Counts {
		if c != want[i] {
			t.Errorf("bucket %d (bound %v) = %d, want %d", i, s.Bounds[min(i, len(s.Bounds)-1)], c, want[i])
		}
	}
	if s.Count != 5 || s.Sum != time.Minute+5*time.Second+2*time.Millisecond+1 {
		t.Errorf("Count = %d, Sum = %v", s.Count, s.Sum)
	}
	s.Bounds[0] = time.Hour // a snapshot is the caller's copy
	if h.snapshot().Bounds[0] == time.Hour {
		t.Error("snapshot shares its Bounds with the histogram")
	}
}
