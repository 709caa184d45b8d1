package listener

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	const minD, maxD = 100 * time.Millisecond, 30 * time.Second
	if d := backoff(0, minD, maxD); d != 0 {
		t.Fatalf("backoff(0) = %v", d)
	}
	for n := 1; n <= 20; n++ {
		want := min(minD<<(n-1), maxD)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(n, minD, maxD)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("backoff(%d) is not jittered: %d distinct values in 200 draws", n, len(seen))
		}
	}
}
