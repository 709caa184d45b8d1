package pgsql

import "errors"

// Errors shared by the packages of this module; match them with errors.Is.
var (
	// ErrInvalidIdentifier is returned (wrapped, with the offending name)
	// for a schema, table, channel, publication or slot name that
	// PostgreSQL cannot store or that the payload format cannot carry.
	ErrInvalidIdentifier = errors.New("pgsql: invalid identifier")

	// ErrInvalidConfig is wrapped by every configuration error that
	// retrying cannot fix, whichever package reports it: the root's New
	// and Start, listener.New, replication.New and the cluster module's
	// New. Each of those packages has an ErrInvalidConfig of its own
	// ("listener: invalid config", ...) that wraps this one, so either
	// is a target for errors.Is.
	ErrInvalidConfig = errors.New("phoenixkitdb: invalid config")

	// ErrLockTimeout is returned (wrapped) by the catalog-changing
	// functions of packages trigger and replication when a lock wait
	// exceeded its bound (trigger.WithLockTimeout,
	// replication.WithPublicationLockTimeout): a long transaction holds a
	// lock on the table (it has written to it, or selected it FOR UPDATE).
	// Nothing was changed; retry once that transaction has ended.
	ErrLockTimeout = errors.New("pgsql: lock wait timed out (a long transaction holds a lock on the table; retry when it ends)")
)
