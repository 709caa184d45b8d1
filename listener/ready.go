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
// wraps ctx.Err() (match it with errors.Is), says that the Listener is
// waiting and for what (to run, to connect, or for a notification to come
// back through LISTEN), and quotes its last connection error, if any, so
// that a wrong password or an unreachable server shows in the caller's own
// error. Safe for concurrent use; it does not start the Listener (see
// EnsureStarted).
//
// Call it after the Listener's supervisor has started, and subscribe then
// load as usual: readiness is a moment, not a promise, and a later
// reconnect is announced to subscribers by a Resync.
func (l *Listener) WaitReady(ctx context.Context) error {
	l.EnsureStarted()
	if err := l.ready.Wait(ctx); err != nil {
		return l.notReady(err)
	}
	return nil
}

// notReady is WaitReady's error when ctx ended first: it names the
// component that is waiting (the Listener, not the WAL source), what it
// waits for, and its last connection error, once each.
func (l *Listener) notReady(err error) error {
	var waiting string
	switch {
	case !l.Running():
		waiting = "the Listener is not running (no supervisor serves it, or it is restarting)"
	case l.Connected():
		waiting = fmt.Sprintf("the Listener is LISTENing on %q, but no notification has come back through it yet", l.cfg.Channel)
	default:
		waiting = "the Listener has not connected yet"
	}
	if last := l.lastError(); last != "" {
		return fmt.Errorf("listener: %s: %w (last error: %s)", waiting, err, last)
	}
	return fmt.Errorf("listener: %s: %w", waiting, err)
}
