package trigger

import "errors"

// Errors of the trigger functions; match them with errors.Is. Each is
// returned wrapped with the table and, where there is one, the error
// PostgreSQL returned. A lock wait past WithLockTimeout's bound gives
// pgsql.ErrLockTimeout, a Querier without Begin pgsql.ErrNoTransaction, a
// name that cannot be carried pgsql.ErrInvalidIdentifier.
var (
	// ErrUntrustedFunction is returned by Ensure when a notify function of
	// this package's name already exists in the table's schema but is
	// owned by a role that is neither the installing role, a superuser,
	// nor one named with WithTrustedOwners. Using it would let that role
	// run code with the privileges of every later writer of the table.
	// Drop the function (or have a trusted role recreate it), or trust its
	// owner with WithTrustedOwners.
	ErrUntrustedFunction = errors.New("trigger: notify function owned by an untrusted role")

	// ErrConflict is returned by Ensure when the wanted triggers are not
	// in place after it ran: a trigger it may not replace is in the way
	// (typically one cloned onto a partition from its partitioned table,
	// which only the partitioned table's trigger can change), or
	// concurrent creators it does not serialise (PhoenixKit) kept undoing
	// its work.
	ErrConflict = errors.New("trigger: wanted triggers not in place")
)
