package chaos

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// FaultLoop is a soak's fault injector loop: it injects faults of the
// given kinds at seeded random intervals until stopped, first one of every
// kind in a random order, so that even a short run sees each, then
// weighted random picks. What a fault does is the soak's Inject; the loop
// counts the faults, times them, and collects the problems Inject reports
// (promises broken by the code under test) and its errors (faults that
// could not be applied, which are not failures of the code under test).
//
// Set the exported fields before Run. Run owns the loop; Problem, Skip
// and Results are safe to call from any goroutine, Inject included.
type FaultLoop struct {
	Kinds       []string       // the kinds to inject, in the order the summary prints them
	Weights     map[string]int // relative frequency after the first round (a kind missing weighs 0, unless every kind does)
	GapMin      time.Duration  // shortest wait before a fault
	GapMax      time.Duration  // longest wait before a fault (exclusive); must exceed GapMin
	FirstGapMax time.Duration  // longest wait before each kind's first fault; 0: GapMax
	Rng         *rand.Rand     // the soak's seeded randomness; used by Run's goroutine only
	Inject      func(kind string) error
	Log         *slog.Logger // nil: no log line per fault

	mu          sync.Mutex
	counts      map[string]int
	skipped     map[string]string
	problems    []string
	errs        []string
	slowest     time.Duration
	slowestKind string
}

// FaultResults is what a FaultLoop recorded.
type FaultResults struct {
	Counts      map[string]int    // faults injected (or tried) by kind
	Skipped     map[string]string // kinds skipped, and why
	Problems    []string          // broken promises: each fails the soak
	Errs        []string          // faults that could not be applied, "kind: error"
	Slowest     time.Duration     // the longest fault, from its start until Inject returned
	SlowestKind string
}

// Run injects faults until stop is closed. A fault in progress always
// completes: Inject heals what it broke before it returns. Run blocks
// until then.
func (f *FaultLoop) Run(stop <-chan struct{}) {
	queue := append([]string(nil), f.Kinds...)
	f.Rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	for {
		gapMax := f.GapMax
		if len(queue) > 0 && f.FirstGapMax > 0 {
			gapMax = f.FirstGapMax
		}
		gap := f.GapMin + time.Duration(f.Rng.Int64N(int64(gapMax-f.GapMin)))
		select {
		case <-stop:
			return
		case <-time.After(gap):
		}
		var kind string
		if len(queue) > 0 {
			kind, queue = queue[0], queue[1:]
		} else {
			kind = f.weighted()
		}
		if f.isSkipped(kind) {
			continue
		}
		if f.Log != nil {
			f.Log.Info("chaos: fault", "kind", kind)
		}
		start := time.Now()
		err := f.Inject(kind)
		took := time.Since(start)
		if f.Log != nil {
			f.Log.Info("chaos: fault done", "kind", kind, "took", took, "err", err)
		}
		f.mu.Lock()
		if f.counts == nil {
			f.counts = map[string]int{}
		}
		f.counts[kind]++
		if took > f.slowest {
			f.slowest, f.slowestKind = took, kind
		}
		if err != nil {
			f.errs = append(f.errs, fmt.Sprintf("%s: %v", kind, err))
		}
		f.mu.Unlock()
	}
}

// weighted picks a kind by Weights.
func (f *FaultLoop) weighted() string {
	total := 0
	for _, k := range f.Kinds {
		total += f.Weights[k]
	}
	if total == 0 {
		return f.Kinds[f.Rng.IntN(len(f.Kinds))]
	}
	n := f.Rng.IntN(total)
	for _, k := range f.Kinds {
		if n -= f.Weights[k]; n < 0 {
			return k
		}
	}
	return f.Kinds[0]
}

// Problem records a promise the code under test broke; the soak fails
// with it.
func (f *FaultLoop) Problem(s string) {
	f.mu.Lock()
	f.problems = append(f.problems, s)
	f.mu.Unlock()
}

// Skip makes Run pass over kind from now on, because the environment
// cannot apply it (why says what is missing).
func (f *FaultLoop) Skip(kind, why string) {
	f.mu.Lock()
	if f.skipped == nil {
		f.skipped = map[string]string{}
	}
	f.skipped[kind] = why
	f.mu.Unlock()
}

func (f *FaultLoop) isSkipped(kind string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.skipped[kind]
	return ok
}

// Results returns a copy of what the loop recorded so far; call it after
// Run returned for the final figures.
func (f *FaultLoop) Results() FaultResults {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := FaultResults{
		Counts:      map[string]int{},
		Skipped:     map[string]string{},
		Problems:    append([]string(nil), f.problems...),
		Errs:        append([]string(nil), f.errs...),
		Slowest:     f.slowest,
		SlowestKind: f.slowestKind,
	}
	for k, v := range f.counts {
		r.Counts[k] = v
	}
	for k, v := range f.skipped {
		r.Skipped[k] = v
	}
	return r
}

// WaitFor polls cond every 10 ms until it holds (true) or timeout passes
// (false). The soaks use it where the code under test offers nothing to
// wait on (a connection state, a mailbox's length, backends on the
// server).
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
