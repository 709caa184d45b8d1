package replication

import (
	"context"
	"fmt"
	"sync"
)

// readiness is whether changes flow right now, with a channel to wait on.
type readiness struct {
	mu    sync.Mutex
	ready bool
	ch    chan struct{} // closed when ready turns true; replaced when it turns false
}

// set records whether changes flow.
func (r *readiness) set(v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == nil {
		r.ch = make(chan struct{})
	}
	switch {
	case v && !r.ready:
		close(r.ch)
	case !v && r.ready:
		r.ch = make(chan struct{})
	}
	r.ready = v
}

// get returns the flag and, when it is false, a channel closed once it
// turns true.
func (r *readiness) get() (bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == nil {
		r.ch = make(chan struct{})
	}
	return r.ready, r.ch
}

// Ready reports whether changes flow right now: START_REPLICATION
// succeeded and the stream is open.
func (s *Source) Ready() bool {
	ok, _ := s.ready.get()
	return ok
}

// WaitReady blocks until changes flow (see Ready) or ctx ends. It returns
// nil at once when they flow already. When ctx ends first, the error
// wraps ctx.Err() (match it with errors.Is) and quotes the Source's last
// error, if any, so that a missing publication or a wrong password shows
// in the caller's own error. Safe for concurrent use; it calls
// EnsureStarted but does not start the Source.
//
// Changes committed after WaitReady returns are delivered; with a
// persistent slot, so are those committed while the Source was away.
func (s *Source) WaitReady(ctx context.Context) error {
	s.EnsureStarted()
	for {
		ok, ch := s.ready.get()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last := s.lastError(); last != "" {
				return fmt.Errorf("replication: changes do not flow yet: %w (last error: %s)", ctx.Err(), last)
			}
			return fmt.Errorf("replication: changes do not flow yet: %w", ctx.Err())
		}
	}
}
