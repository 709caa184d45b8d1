package phoenixkitdb

import "errors"

// Errors of the trigger functions; match them with errors.Is. Each is
// returned wrapped with the table and, where there is one, the error
// PostgreSQL returned.
var (
	// ErrUntrustedFunction is returned by EnsureTrigger when a notify
	// function of this package's name already exists in the table's schema
	// but is owned by a role that is neither the installing role, a
	// superuser, nor one named with WithTrustedOwners. Using it would let
	// that role run code with the privileges of every later writer of the
	// table. Drop the function (or have a trusted role recreate it), or
	// trust its owner with WithTrustedOwners.
	ErrUntrustedFunction = errors.New("phoenixkitdb: notify function owned by an untrusted role")

	// ErrLockTimeout is returned when a lock wait exceeded the bound set by
	// WithLockTimeout (DefaultLockTimeout): a long transaction holds a lock
	// on the table (it has written to it, or selected it FOR UPDATE).
	// Nothing was changed; retry once that transaction has ended.
	ErrLockTimeout = errors.New("phoenixkitdb: lock wait timed out (a long transaction holds a lock on the table; retry when it ends)")

	// ErrTriggerConflict is returned by EnsureTrigger when the wanted
	// triggers are not in place after it ran: a trigger it may not replace
	// is in the way (typically one cloned onto a partition from its
	// partitioned table, which only the partitioned table's trigger can
	// change), or concurrent creators it does not serialise (PhoenixKit)
	// kept undoing its work.
	ErrTriggerConflict = errors.New("phoenixkitdb: wanted triggers not in place")

	// ErrNoTransaction is returned by EnsureTrigger, RemoveTrigger and
	// RemoveAllTriggers for a Querier without pgx's Begin method: they
	// serialise on an advisory lock that lasts one transaction and must
	// never leave half an installation behind.
	ErrNoTransaction = errors.New("phoenixkitdb: querier cannot begin a transaction")
)
