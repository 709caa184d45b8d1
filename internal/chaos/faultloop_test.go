package chaos_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

func TestFaultLoopFirstRoundHasEveryKindThenWeights(t *testing.T) {
	kinds := []string{"a", "b", "c", "never", "broken"}
	stop := make(chan struct{})
	var done sync.Once
	var got []string // written by Inject, on Run's goroutine; read after Run
	loop := &chaos.FaultLoop{
		Kinds:   kinds,
		Weights: map[string]int{"a": 1, "b": 1, "c": 1, "broken": 1}, // "never" only in the first round
		GapMin:  time.Microsecond, GapMax: 2 * time.Microsecond,
		Rng: rand.New(rand.NewPCG(1, 2)),
	}
	loop.Inject = func(kind string) error {
		got = append(got, kind)
		if len(got) == 200 {
			done.Do(func() { close(stop) })
		}
		switch kind {
		case "broken":
			return errors.New("cannot")
		case "c":
			loop.Problem("c broke a promise")
		}
		return nil
	}
	loop.Run(stop)

	first := slices.Clone(got[:len(kinds)])
	slices.Sort(first)
	want := slices.Clone(kinds)
	slices.Sort(want)
	if !slices.Equal(first, want) {
		t.Fatalf("first round %v, want each of %v once", got[:len(kinds)], kinds)
	}
	if slices.Contains(got[len(kinds):], "never") {
		t.Errorf("a kind of weight 0 was picked after the first round: %v", got)
	}
	r := loop.Results()
	total := 0
	for _, k := range kinds {
		total += r.Counts[k]
		if n := countOf(got, k); r.Counts[k] != n {
			t.Errorf("Counts[%s] = %d, injected %d", k, r.Counts[k], n)
		}
	}
	if total != len(got) {
		t.Errorf("counted %d faults, injected %d", total, len(got))
	}
	if len(r.Errs) != r.Counts["broken"] || r.Errs[0] != "broken: cannot" {
		t.Errorf("Errs = %d (%q...), want one per broken fault (%d)", len(r.Errs), r.Errs[0], r.Counts["broken"])
	}
	if len(r.Problems) != r.Counts["c"] {
		t.Errorf("Problems = %d, want one per c fault (%d)", len(r.Problems), r.Counts["c"])
	}
	if r.SlowestKind == "" || r.Slowest <= 0 {
		t.Errorf("slowest fault not recorded: %q %v", r.SlowestKind, r.Slowest)
	}
}

func TestFaultLoopSkippedKindIsNotInjected(t *testing.T) {
	stop := make(chan struct{})
	n := 0
	loop := &chaos.FaultLoop{
		Kinds:  []string{"restart", "cut"},
		GapMin: time.Microsecond, GapMax: 2 * time.Microsecond, FirstGapMax: 3 * time.Microsecond,
		Rng: rand.New(rand.NewPCG(3, 4)),
	}
	loop.Inject = func(kind string) error {
		if kind == "restart" {
			loop.Skip("restart", "external server")
			return errors.New("external server")
		}
		if n++; n == 50 {
			close(stop)
		}
		return nil
	}
	loop.Run(stop)
	r := loop.Results()
	if r.Counts["restart"] != 1 || r.Skipped["restart"] != "external server" {
		t.Errorf("restart injected %d times (want once, then skipped), skipped %v", r.Counts["restart"], r.Skipped)
	}
	if r.Counts["cut"] != 50 {
		t.Errorf("cut injected %d times, want 50", r.Counts["cut"])
	}
}

func TestWaitFor(t *testing.T) {
	start := time.Now()
	n := 0
	if !chaos.WaitFor(time.Minute, func() bool { n++; return n == 3 }) {
		t.Fatal("WaitFor gave up on a condition that came true")
	}
	if chaos.WaitFor(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("WaitFor reported a condition that never held")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("WaitFor took %v", time.Since(start))
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
