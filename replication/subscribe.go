package replication

import (
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrInvalidTable is returned by Subscribe and Unsubscribe for an empty
// schema or table name.
var ErrInvalidTable = errors.New("replication: invalid table")

// warnEvery bounds EnsureStarted's warnings.
const warnEvery = 10 * time.Second

// EnsureStarted makes a missed start visible: when the Source is not
// running, it arranges to log a warning unless Serve starts within
// Config.StartGrace. It logs at most once per 10 s, never blocks, and is
// cheap when the Source runs. Serve cancels the pending check.
func (s *Source) EnsureStarted() {
	if s.running.Load() {
		return
	}
	s.startMu.Lock()
	defer s.startMu.Unlock()
	// Re-checked under the lock: Serve sets running before it cancels the
	// pending check under this lock, so no timer outlives a start.
	if s.startCheck != nil || s.running.Load() {
		return
	}
	s.startCheck = time.AfterFunc(s.cfg.StartGrace, s.checkStarted)
}

// checkStarted runs StartGrace after EnsureStarted found the Source
// stopped and warns if it still is.
func (s *Source) checkStarted() {
	defer func() {
		s.startMu.Lock()
		s.startCheck = nil
		s.startMu.Unlock()
	}()
	if s.running.Load() {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return
	}
	if !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("replication: not running; live updates will not work; add the Source to a running supervisor",
		"slot", s.cfg.Slot, "waited", s.cfg.StartGrace)
}

// cancelStartCheck drops EnsureStarted's pending check; Serve calls it
// once running is set.
func (s *Source) cancelStartCheck() {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.startCheck != nil && s.startCheck.Stop() {
		s.startCheck = nil
	}
}

// Subscribe calls EnsureStarted, then subscribes mb to the changes of
// schema.table (pubsub.TopicTable). Subscribing while the Source is
// stopped works: changes flow once it runs.
func (s *Source) Subscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	s.EnsureStarted()
	return s.ps.Subscribe(mb, pubsub.TopicTable(schema, table))
}

// Unsubscribe removes mb from the changes of schema.table.
func (s *Source) Unsubscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	return s.ps.Unsubscribe(mb, pubsub.TopicTable(schema, table))
}

// SubscribeAll calls EnsureStarted, then subscribes mb to every table's
// changes (pubsub.TopicAll).
func (s *Source) SubscribeAll(mb *pubsub.Mailbox) error {
	s.EnsureStarted()
	return s.ps.Subscribe(mb, pubsub.TopicAll())
}

// UnsubscribeAll removes mb from pubsub.TopicAll.
func (s *Source) UnsubscribeAll(mb *pubsub.Mailbox) error {
	return s.ps.Unsubscribe(mb, pubsub.TopicAll())
}
