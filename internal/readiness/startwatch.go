package readiness

import (
	"sync"
	"sync/atomic"
	"time"
)

// StartWatch makes a missed start visible: a service that subscribers
// depend on (a change source) calls Ensure whenever someone relies on it,
// and Cancel once it runs; if it does not run within Grace after an
// Ensure, Warn is called, at most once per Every. At most one check (a
// timer) is pending at a time, so nothing accumulates however often
// Ensure is called. Set the exported fields before first use; the methods
// are then safe for concurrent use and never block beyond a short
// critical section.
type StartWatch struct {
	Running func() bool               // whether the service runs now
	Grace   time.Duration             // how long a start may take
	Every   time.Duration             // the least time between two warnings
	Now     func() time.Time          // the clock; nil means time.Now
	Warn    func(grace time.Duration) // logs the warning

	mu       sync.Mutex
	timer    *time.Timer // the pending check; nil when none
	lastWarn atomic.Int64
}

// Ensure arranges a check Grace from now unless the service runs or a
// check is pending already.
func (w *StartWatch) Ensure() {
	if w.Running() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Re-checked under the lock: the service sets running before it calls
	// Cancel, which takes this lock, so no timer outlives a start.
	if w.timer != nil || w.Running() {
		return
	}
	w.timer = time.AfterFunc(w.Grace, w.check)
}

// check runs Grace after Ensure and warns if the service still does not
// run. The check stays pending until the warning is written, so that
// whoever sees none pending knows the outcome is final.
func (w *StartWatch) check() {
	defer func() {
		w.mu.Lock()
		w.timer = nil
		w.mu.Unlock()
	}()
	if w.Running() {
		return
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	t := now().UnixNano()
	last := w.lastWarn.Load()
	if last != 0 && t-last < int64(w.Every) {
		return
	}
	if !w.lastWarn.CompareAndSwap(last, t) {
		return
	}
	w.Warn(w.Grace)
}

// Cancel drops the pending check; the service calls it once it runs.
func (w *StartWatch) Cancel() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil && w.timer.Stop() {
		w.timer = nil
	}
}

// Pending reports whether a check is scheduled or running.
func (w *StartWatch) Pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.timer != nil
}
