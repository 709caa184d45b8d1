package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// TestClusterSectionEndToEnd runs section 8 at tiny sizes against a real
// PostgreSQL and an embedded NATS server: every row has figures, the
// burst rows their ratio to the single instance (batched, and with one
// message per change: exactly one change per message) beside the writer's
// pace and the bare JetStream ceilings, as committed and held (only the
// held rows carry goals: a held round fails unless every row waited for the
// release), the CPU rows their figures, and
// every cluster size was
// read by exactly one PostgreSQL backend at every sample; each cluster
// size's latency has its bare JetStream baseline beside it.
func TestClusterSectionEndToEnd(t *testing.T) {
	srv := pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := openEnv(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	cfg := config{reps: 1, clusterSizes: []int{1, 3}, clusterLatN: 20, clusterRate: 200, clusterBurst: 500, clusterBurstN: 3}
	rows, err := runCluster(ctx, e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{nameSingle, nameClustered(1), nameClustered(3)}
	// The latency rows: each group followed by its bare JetStream baseline.
	withBare := []string{nameSingle, nameClustered(1), nameBareLatency(1), nameClustered(3), nameBareLatency(3)}
	seen := map[string][]string{} // measurement kind -> contenders
	for _, r := range rows {
		if r.NA != "" {
			t.Errorf("%s / %s: n/a: %s", r.Measurement, r.Contender, r.NA)
			continue
		}
		kind := strings.Fields(r.Measurement)[0]
		seen[kind] = append(seen[kind], r.Contender)
		switch {
		case kind == "PostgreSQL" && (r.Min != 1 || r.Max != 1):
			t.Errorf("%s: %v..%v change-reading backends, want 1 at every sample", r.Contender, r.Min, r.Max)
		case kind == "burst" && (r.Contender == nameClustered(3) || r.Contender == nameUnbatched(3)) &&
			(r.Ratio <= 0 || (r.Met != nil) != strings.Contains(r.Measurement, "held")):
			t.Errorf("burst row of %s lacks its ratio, or has a goal as committed / lacks one held: %+v", r.Contender, r)
		case kind == "burst" && strings.HasPrefix(r.Contender, nameBareJS(3)) && (r.Ratio <= 0 || r.Median <= 0):
			t.Errorf("JetStream baseline row lacks its figure or ratio: %+v", r)
		case kind == "cores" && strings.Contains(r.Measurement, "needs") && (r.Median <= 0 || r.Met == nil):
			t.Errorf("cores row lacks its figure or goal: %+v", r)
		case kind == "commit" && strings.HasPrefix(r.Contender, "bare") && (r.Met != nil || r.Median <= 0):
			t.Errorf("baseline row has a goal or no figure: %+v", r)
		case kind == "machine":
			// The load average: 0 on an idle machine.
		case kind == "changes" && r.Contender == nameUnbatched(3) && r.Median != 1:
			t.Errorf("%s: %v changes per message, want 1", r.Contender, r.Median)
		case kind == "changes" && r.Contender == nameClustered(3) && r.Median <= 1:
			t.Errorf("%s: %v changes per message, want more than 1", r.Contender, r.Median)
		case kind == "leaderships":
			// Counted for the reader; a loaded machine may see some.
		case r.Median <= 0:
			t.Errorf("%s / %s: median %v", r.Measurement, r.Contender, r.Median)
		}
	}
	if got := seen["PostgreSQL"]; !slices.Equal(got, want) {
		t.Errorf("backend rows for %v, want %v", got, want)
	}
	if got := seen["burst"]; !slices.Equal(got, []string{nameSingle, nameClustered(3), nameBareJS(3) + ", the batched messages",
		nameWriter, nameUnbatched(3), nameBareJS(3) + ", one message per change", // as committed
		nameSingle, nameClustered(3), nameBareJS(3) + ", the batched messages", nameUnbatched(3)}) { // held
		t.Errorf("burst rows for %v", got)
	}
	wantCPU := append(slices.Clone(want), nameBareLatency(1), nameBareLatency(3), // instances; baselines' consumers
		nameClustered(1), nameBareLatency(1), nameClustered(3), nameBareLatency(3), // the NATS server's
		nameSingle, nameClustered(3), nameSingle, nameClustered(3)) // the burst's, as committed and held
	if got := seen["CPU"]; !slices.Equal(got, wantCPU) {
		t.Errorf("CPU rows for %v, want %v", got, wantCPU)
	}
	if got := seen["held"]; !slices.Equal(got, []string{nameClustered(3)}) {
		t.Errorf("batched over unbatched drain rows for %v", got)
	}
	if got := seen["changes"]; !slices.Equal(got, []string{nameClustered(3), nameClustered(3), nameUnbatched(3), nameUnbatched(3)}) {
		t.Errorf("changes per message rows for %v", got)
	}
	var lat []string
	for range 3 { // p50, p99, max
		lat = append(lat, withBare...)
	}
	lat = append(lat, nameClustered(1), nameClustered(3)) // p99 over the baseline's
	if got := seen["commit"]; !slices.Equal(got, lat) {
		t.Errorf("latency rows for %v, want p50, p99 and max of %v, then the ratios to the baselines", got, withBare)
	}
	if got := seen["single-row"]; !slices.Equal(got, want) {
		t.Errorf("writer's pace rows for %v, want %v", got, want)
	}
	out := table(rows, true)
	if !strings.Contains(out, clusterSection) || !strings.Contains(out, "at most 10 ms") {
		t.Errorf("table lacks the section or its goal:\n%s", out)
	}
}

// TestDefaultSectionsIncludeCluster: a plain `make bench` runs section 8.
func TestDefaultSectionsIncludeCluster(t *testing.T) {
	if !slices.Contains(strings.Split(defaultSections, ","), "cluster") {
		t.Fatalf("default sections %q lack cluster", defaultSections)
	}
}
