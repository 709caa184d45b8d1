package replication

import (
	"context"
	"fmt"
)

// Ready reports whether changes flow right now: START_REPLICATION
// succeeded and the stream is open.
func (s *Source) Ready() bool {
	return s.ready.Get()
}

// WaitReady blocks until changes flow (see Ready) or ctx ends. It returns
// nil at once when they flow already. When ctx ends first, the error
// wraps ctx.Err() (match it with errors.Is), says that the WAL source is
// waiting to stream from its slot (naming slot and publication), and
// quotes its last error, if any, so that a missing publication or a wrong
// password shows in the caller's own error. Safe for concurrent use; it
// calls EnsureStarted but does not start the Source.
//
// Changes committed after WaitReady returns are delivered; with a
// persistent slot, so are those committed while the Source was away.
func (s *Source) WaitReady(ctx context.Context) error {
	s.EnsureStarted()
	if err := s.ready.Wait(ctx); err != nil {
		return s.notReady(err)
	}
	return nil
}

// notReady is WaitReady's error when ctx ended first: it names the
// component that is waiting (the WAL source, not the Listener), what it
// waits for, and its last error, once each.
func (s *Source) notReady(err error) error {
	waiting := fmt.Sprintf("the WAL source has not started streaming from slot %q (publication %q) yet", s.cfg.Slot, s.cfg.Publication)
	if !s.Running() {
		waiting = "the WAL source is not running (no supervisor serves it, or it is restarting)"
	}
	if last := s.lastError(); last != "" {
		return fmt.Errorf("replication: %s: %w (last error: %s)", waiting, err, last)
	}
	return fmt.Errorf("replication: %s: %w", waiting, err)
}
