package replication

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay before connection attempt n (n >= 1):
// MinBackoff doubled n-1 times, capped at MaxBackoff, with "equal jitter"
// (a uniform draw from [d/2, d]) so that many sources restarting together
// spread out.
func backoff(n int, minD, maxD time.Duration) time.Duration {
	if n < 1 {
		return 0
	}
	d := minD
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + rand.N(d-half+1)
}
