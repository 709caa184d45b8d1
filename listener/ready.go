package listener

import (
	"context"
	"fmt"
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

// Ready reports whether changes flow right now: LISTEN is established and
// a notification sent by another session has come back through it since.
func (l *Listener) Ready() bool {
	return l.ready.Get()
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
	if err := l.ready.Wait(ctx); err != nil {
		if last := l.lastError(); last != "" {
			return fmt.Errorf("listener: changes do not flow yet: %w (last error: %s)", err, last)
		}
		return fmt.Errorf("listener: changes do not flow yet: %w", err)
	}
	return nil
}
