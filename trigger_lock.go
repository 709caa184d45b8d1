package phoenixkitdb

import "context"

// installLockKey is the pg_advisory_xact_lock key that serialises this
// package's installers across the database ("phxkitdb" in ASCII).
const installLockKey int64 = 0x7068786b69746462

// lockInstallers takes the installers' advisory lock until the end of the
// transaction. Its wait is bounded by ctx only: it blocks no writer.
func lockInstallers(ctx context.Context, q Querier) error {
	_, err := q.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", installLockKey)
	return err
}

// withInstallLock runs fn, inside the transaction or savepoint q, under the
// installers' advisory lock and with lock_timeout set to o's bound.
//
// The bound is set after the advisory lock is held, so waiting behind
// another installer is not cut short. It is set transaction-locally
// (set_config(..., true)): on failure the rollback of the transaction or
// savepoint undoes it, and on success the previous value is put back before
// the savepoint is released, so that a caller's pgx.Tx keeps its own
// lock_timeout.
func withInstallLock(ctx context.Context, q Querier, o triggerOptions, fn func() error) error {
	if err := lockInstallers(ctx, q); err != nil {
		return err
	}
	var prev, set string
	err := q.QueryRow(ctx, `SELECT pg_catalog.current_setting('lock_timeout'),
  pg_catalog.set_config('lock_timeout', $1, true)`, o.lockTimeoutSetting()).Scan(&prev, &set)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	_, err = q.Exec(ctx, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", prev)
	return err
}
