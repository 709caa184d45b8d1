package listener

import (
	"context"
	"fmt"
	"sync"
)

// State is a Listener's state as Stats reports it.
type State string

// The states of a Listener, in the order a healthy start goes through them.
const (
	// StateStopped: Serve is not running (never started, or its module is
	// disabled).
	StateStopped State = "stopped"
	// StateConnecting: Serve runs and has no LISTEN established (connecting,
	// or waiting to retry).
	StateConnecting State = "connecting"
	// StateListening: LISTEN is established; the delivery path is not
	// proven yet.
	StateListening State = "listening"
	// StateReady: changes flow (see Listener.Ready).
	StateReady State = "ready"
)

func stateOf(running, connected, ready bool) State {
	switch {
	case !running:
		return StateStopped
	case ready:
		return StateReady
	case connected:
		return StateListening
	default:
		return StateConnecting
	}
}

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

// Ready reports whether changes flow right now: LISTEN is established and
// a notification sent by another session has come back through it since.
func (l *Listener) Ready() bool {
	ok, _ := l.ready.get()
	return ok
}

// WaitReady blocks until changes flow (see Ready) or ctx ends. It returns
// nil at once when they flow already. When ctx ends first, the error
// wraps ctx.Err() (match it with errors.Is) and quotes the Listener's last
// connection error, if any, so that a wrong password or an unreachable
// server shows in the caller's own error. Safe for concurrent use; it does
// not start the Listener (see EnsureStarted).
//
// Call it after the Listener's supervisor has started, and subscribe then
// load as usual: readiness is a moment, not a promise, and a later
// reconnect is announced to subscribers by a Resync.
func (l *Listener) WaitReady(ctx context.Context) error {
	l.EnsureStarted()
	for {
		ok, ch := l.ready.get()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last := l.lastError(); last != "" {
				return fmt.Errorf("listener: changes do not flow yet: %w (last error: %s)", ctx.Err(), last)
			}
			return fmt.Errorf("listener: changes do not flow yet: %w", ctx.Err())
		}
	}
}
