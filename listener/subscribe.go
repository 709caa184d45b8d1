package listener

import (
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrInvalidTable is returned by Subscribe and Unsubscribe for an empty
// schema or table name.
var ErrInvalidTable = errors.New("listener: invalid table")

// warnEvery bounds EnsureStarted's warnings.
const warnEvery = 10 * time.Second

// EnsureStarted makes a missed start visible: when the Listener is not
// running, it arranges to log a warning (subscribers would wait for
// changes forever) unless Serve starts within Config.StartGrace. At a
// normal start-up, where subscriptions come before the supervisor starts
// the service, nothing is logged. It logs at most once per 10 s however
// often it is called, never blocks, and is cheap when the Listener runs.
// At most one pending check (a timer) exists at a time; Serve cancels it.
func (l *Listener) EnsureStarted() {
	if l.running.Load() {
		return
	}
	l.startMu.Lock()
	defer l.startMu.Unlock()
	// Re-checked under the lock: Serve sets running before it cancels the
	// pending check under this lock, so no timer outlives a start.
	if l.startCheck != nil || l.running.Load() {
		return
	}
	l.startCheck = time.AfterFunc(l.cfg.StartGrace, l.checkStarted)
}

// checkStarted runs StartGrace after EnsureStarted found the Listener
// stopped and warns if it still is. The check stays pending until the
// warning is written, so that a test that sees none pending knows the
// outcome is final.
func (l *Listener) checkStarted() {
	defer func() {
		l.startMu.Lock()
		l.startCheck = nil
		l.startMu.Unlock()
	}()
	if l.running.Load() {
		return
	}
	now := l.cfg.Now().UnixNano()
	last := l.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return
	}
	if !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("listener: not running; live updates will not work; enable the module or add its Children to the supervisor",
		"channel", l.cfg.Channel, "waited", l.cfg.StartGrace)
}

// cancelStartCheck drops EnsureStarted's pending check; Serve calls it
// once running is set.
func (l *Listener) cancelStartCheck() {
	l.startMu.Lock()
	defer l.startMu.Unlock()
	if l.startCheck != nil && l.startCheck.Stop() {
		l.startCheck = nil
	}
}

// Subscribe calls EnsureStarted, then subscribes mb to the changes of
// schema.table (pubsub.TopicTable). Subscribing while the Listener is
// stopped works: changes flow once it runs.
func (l *Listener) Subscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	l.EnsureStarted()
	return l.ps.Subscribe(mb, pubsub.TopicTable(schema, table))
}

// Unsubscribe removes mb from the changes of schema.table.
func (l *Listener) Unsubscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	return l.ps.Unsubscribe(mb, pubsub.TopicTable(schema, table))
}

// SubscribeAll calls EnsureStarted, then subscribes mb to every table's
// changes (pubsub.TopicAll).
func (l *Listener) SubscribeAll(mb *pubsub.Mailbox) error {
	l.EnsureStarted()
	return l.ps.Subscribe(mb, pubsub.TopicAll())
}

// UnsubscribeAll removes mb from pubsub.TopicAll.
func (l *Listener) UnsubscribeAll(mb *pubsub.Mailbox) error {
	return l.ps.Unsubscribe(mb, pubsub.TopicAll())
}
