package trigger

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
)

// DefaultLockTimeout bounds how long Ensure, Remove and RemoveAll wait
// for a table lock unless WithLockTimeout says otherwise (publication
// changes in package replication use the same default).
const DefaultLockTimeout = ddl.DefaultLockTimeout

// Option configures Ensure (and, for WithLockTimeout,
// Remove and RemoveAll, which ignore the other options).
type Option func(*options)

type options struct {
	perStatement bool
	channel      string
	lockTimeout  time.Duration // <= 0: no bound
	trusted      []string
}

func newOptions(opts []Option) options {
	o := options{channel: DefaultChannel, lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// PerStatement installs one statement-level trigger instead of the row
// trigger: every INSERT, UPDATE, DELETE or TRUNCATE statement sends
// "schema.table:OP:" without a row id. PostgreSQL folds identical payloads
// within a transaction, so a bulk write costs one notification instead of one
// per row. Calling Ensure without it later switches the table back.
func PerStatement() Option {
	return func(o *options) { o.perStatement = true }
}

// WithChannel sets the channel the trigger notifies on; the default is
// DefaultChannel, the one PhoenixKit listens on. The name is used exactly
// (LISTEN must quote a mixed-case name); it must be 1 to 63 bytes.
func WithChannel(name string) Option {
	return func(o *options) { o.channel = name }
}

// WithLockTimeout bounds each wait for a lock on the table (DROP TRIGGER
// and CREATE TRIGGER queue behind every transaction that has written to the
// table, and every later writer queues behind them) and on the notify
// functions. The default is DefaultLockTimeout; d <= 0 removes the bound, so
// that only ctx limits the wait. When the bound is reached the call fails
// with an error wrapping pgsql.ErrLockTimeout and changes nothing. The bound is
// set with SET LOCAL semantics inside the call's own transaction or
// savepoint and the previous value is put back, so it never leaks into the
// caller's session or transaction.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithTrustedOwners names roles, besides the installing role (current_user)
// and superusers, whose notify functions Ensure may use. Use it when
// the functions in a schema were installed by another role than the one
// calling Ensure now, for example an administrator's. A function owned
// by any other role makes Ensure fail with ErrUntrustedFunction: its
// owner could change what every later write to the table runs, with the
// writer's privileges. Names are role names as stored (case matters).
func WithTrustedOwners(roles ...string) Option {
	return func(o *options) { o.trusted = append(o.trusted, roles...) }
}
