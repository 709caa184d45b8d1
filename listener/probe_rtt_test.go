package listener_test

import (
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
)

// Every echoed self-probe lands in ProbeRTT: the histogram's count follows
// the probes sent, its buckets add up, and its sum is a plausible round
// trip to a local server.
func TestProbeRTTRecordsEchoedProbes(t *testing.T) {
	b := setup(t, options{cfg: listener.Config{ProbeInterval: 100 * time.Millisecond}})
	expectResync(t, b.mb, 10*time.Second)
	if h := b.l.ProbeRTT(); len(h.Counts) != len(h.Bounds)+1 {
		t.Fatalf("ProbeRTT has %d counts for %d bounds", len(h.Counts), len(h.Bounds))
	}
	eventually(t, 20*time.Second, "three echoed probes", func() bool { return b.l.ProbeRTT().Count >= 3 })

	h := b.l.ProbeRTT()
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total != h.Count {
		t.Errorf("buckets add up to %d, Count = %d", total, h.Count)
	}
	// Probes still in flight were sent but not echoed yet.
	if probes := b.l.Stats().Probes; h.Count > probes {
		t.Errorf("ProbeRTT().Count = %d > Probes = %d", h.Count, probes)
	}
	if h.Sum <= 0 || h.Sum > time.Duration(h.Count)*100*time.Millisecond {
		t.Errorf("ProbeRTT().Sum = %v for %d probes: not a round trip within the probe interval", h.Sum, h.Count)
	}
	for i := 1; i < len(h.Bounds); i++ {
		if h.Bounds[i] <= h.Bounds[i-1] {
			t.Fatalf("Bounds not ascending: %v", h.Bounds)
		}
	}
}
