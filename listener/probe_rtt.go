package listener

import (
	"sync/atomic"
	"time"
)

// probeRTTBounds are the upper bounds of the probe round-trip histogram's
// buckets: a local server answers in well under a millisecond, a remote
// one in a few, and a probe near ProbeInterval (5 s by default) is about
// to be declared lost.
var probeRTTBounds = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// Histogram is a snapshot of a duration histogram with fixed buckets.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending.
	Bounds []time.Duration
	// Counts[i] is how many observations were at most Bounds[i] and above
	// Bounds[i-1] (not cumulative); Counts has one more element than
	// Bounds, for the observations above the last bound.
	Counts []uint64
	// Count is the number of observations (the sum of Counts) and Sum
	// their total.
	Count uint64
	Sum   time.Duration
}

// rttHistogram records durations into probeRTTBounds' buckets with
// atomics only: the reader records, scrapers read, nobody locks.
type rttHistogram struct {
	buckets [len(probeRTTBounds) + 1]atomic.Uint64
	sum     atomic.Int64 // nanoseconds
}

func (h *rttHistogram) observe(d time.Duration) {
	i := 0
	for i < len(probeRTTBounds) && d > probeRTTBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot reads the buckets one by one: an observation recorded meanwhile
// may show in Sum and not in Counts, never in Count and not in Counts.
func (h *rttHistogram) snapshot() Histogram {
	s := Histogram{
		Bounds: append([]time.Duration(nil), probeRTTBounds[:]...),
		Counts: make([]uint64, len(h.buckets)),
		Sum:    time.Duration(h.sum.Load()),
	}
	for i := range h.buckets {
		s.Counts[i] = h.buckets[i].Load()
		s.Count += s.Counts[i]
	}
	return s
}

// ProbeRTT returns the round-trip times of the Listener's self-probes so
// far: from writing the probe's NOTIFY to reading its echo on the same
// connection, across every connection since New. A probe that got no echo
// (the connection died, or the server gave up waiting for the
// notification lock) is not recorded. Safe for concurrent use; it never
// blocks.
func (l *Listener) ProbeRTT() Histogram { return l.probeRTT.snapshot() }
