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
// wraps ctx.Err() (match it with errors.Is) and quotes the Source's last
// error, if any, so that a missing publication or a wrong password shows
// in the caller's own error. Safe for concurrent use; it calls
// EnsureStarted but does not start the Source.
//
// Changes committed after WaitReady returns are delivered; with a
// persistent slot, so are those committed while the Source was away.
func (s *Source) WaitReady(ctx context.Context) error {
	s.EnsureStarted()
	if err := s.ready.Wait(ctx); err != nil {
		if last := s.lastError(); last != "" {
			return fmt.Errorf("replication: changes do not flow yet: %w (last error: %s)", err, last)
		}
		return fmt.Errorf("replication: changes do not flow yet: %w", err)
	}
	return nil
}
