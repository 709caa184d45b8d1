package phoenixkitdb

import (
	"fmt"
	"time"
)

// DefaultLockTimeout bounds how long EnsureTrigger, RemoveTrigger and
// RemoveAllTriggers wait for a table lock unless WithLockTimeout says
// otherwise.
const DefaultLockTimeout = 5 * time.Second

// TriggerOption configures EnsureTrigger (and, for WithLockTimeout,
// RemoveTrigger and RemoveAllTriggers, which ignore the other options).
type TriggerOption func(*triggerOptions)

type triggerOptions struct {
	perStatement bool
	channel      string
	lockTimeout  time.Duration // <= 0: no bound
	trusted      []string
}

func newTriggerOptions(opts []TriggerOption) triggerOptions {
	o := triggerOptions{channel: DefaultChannel, lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// lockTimeoutSetting renders o.lockTimeout for lock_timeout, rounded up to
// whole milliseconds ("0" turns the bound off).
func (o triggerOptions) lockTimeoutSetting() string {
	if o.lockTimeout <= 0 {
		return "0"
	}
	return fmt.Sprintf("%dms", (o.lockTimeout+time.Millisecond-1)/time.Millisecond)
}

// PerStatement installs one statement-level trigger instead of the row
// trigger: every INSERT, UPDATE, DELETE or TRUNCATE statement sends
// "schema.table:OP:" without a row id. PostgreSQL folds identical payloads
// within a transaction, so a bulk write costs one notification instead of one
// per row. Calling EnsureTrigger without it later switches the table back.
func PerStatement() TriggerOption {
	return func(o *triggerOptions) { o.perStatement = true }
}

// WithChannel sets the channel the trigger notifies on; the default is
// DefaultChannel, the one PhoenixKit listens on. The name is used exactly
// (LISTEN must quote a mixed-case name); it must be 1 to 63 bytes.
func WithChannel(name string) TriggerOption {
	return func(o *triggerOptions) { o.channel = name }
}

// WithLockTimeout bounds each wait for a lock on the table (DROP TRIGGER
// and CREATE TRIGGER queue behind every transaction that has written to the
// table, and every later writer queues behind them) and on the notify
// functions. The default is DefaultLockTimeout; d <= 0 removes the bound, so
// that only ctx limits the wait. When the bound is reached the call fails
// with an error wrapping ErrLockTimeout and changes nothing. The bound is
// set with SET LOCAL semantics inside the call's own transaction or
// savepoint and the previous value is put back, so it never leaks into the
// caller's session or transaction.
func WithLockTimeout(d time.Duration) TriggerOption {
	return func(o *triggerOptions) { o.lockTimeout = d }
}

// WithTrustedOwners names roles, besides the installing role (current_user)
// and superusers, whose notify functions EnsureTrigger may use. Use it when
// the functions in a schema were installed by another role than the one
// calling EnsureTrigger now, for example an administrator's. A function owned
// by any other role makes EnsureTrigger fail with ErrUntrustedFunction: its
// owner could change what every later write to the table runs, with the
// writer's privileges. Names are role names as stored (case matters).
func WithTrustedOwners(roles ...string) TriggerOption {
	return func(o *triggerOptions) { o.trusted = append(o.trusted, roles...) }
}
