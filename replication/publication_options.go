package replication

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
)

// PublicationOption configures EnsurePublication (and, for
// WithPublicationLockTimeout, RemoveFromPublication, which ignores the
// other options).
type PublicationOption func(*publicationOptions)

type publicationOptions struct {
	insertsOnly  bool
	identityFull bool
	lockTimeout  time.Duration // <= 0: no bound
}

func newPublicationOptions(opts []PublicationOption) publicationOptions {
	o := publicationOptions{lockTimeout: ddl.DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// PublishInsertsOnly makes EnsurePublication create the publication WITH
// (publish = 'insert, truncate'): neither needs a replica identity, so
// tables without one may be added and the application's UPDATE and DELETE
// on them keep working (PostgreSQL refuses those on a table published for
// updates or deletes that has no replica identity). Subscribers then see
// no UPDATE or DELETE events of any table in the publication. An existing
// publication keeps the publish parameter it has: if it publishes updates
// or deletes, tables without a replica identity are still refused with
// ErrNoReplicaIdentity (change it with ALTER PUBLICATION name SET
// (publish = 'insert, truncate'), or use another publication).
func PublishInsertsOnly() PublicationOption {
	return func(o *publicationOptions) { o.insertsOnly = true }
}

// SetReplicaIdentityFull makes EnsurePublication run ALTER TABLE ...
// REPLICA IDENTITY FULL on each table it adds that has no usable replica
// identity (for a partitioned table, on each partition lacking one), so
// that it can be published for updates and deletes. Tables with a primary
// key or a replica identity index are left as they are. FULL makes every
// UPDATE and DELETE write the whole old row to the WAL (more WAL, and the
// old row in the events); a primary key is the better fix where there can
// be one. ALTER TABLE takes an ACCESS EXCLUSIVE lock, bounded like every
// lock wait as WithPublicationLockTimeout says.
func SetReplicaIdentityFull() PublicationOption {
	return func(o *publicationOptions) { o.identityFull = true }
}

// WithPublicationLockTimeout bounds each wait for a lock on a table (ALTER
// PUBLICATION takes SHARE UPDATE EXCLUSIVE, which waits behind a running
// VACUUM, index build or schema change; SetReplicaIdentityFull's ALTER
// TABLE takes ACCESS EXCLUSIVE, which waits behind every writer). The
// default is 5 s (trigger.DefaultLockTimeout); d <= 0 removes the bound, so that only ctx
// limits the wait. When the bound is reached the call fails with an error
// wrapping pgsql.ErrLockTimeout and changes nothing. Like trigger.WithLockTimeout it is
// set inside the call's own transaction or savepoint and never leaks.
func WithPublicationLockTimeout(d time.Duration) PublicationOption {
	return func(o *publicationOptions) { o.lockTimeout = d }
}
