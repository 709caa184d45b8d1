// Package ddl runs the catalog changes of packages trigger and replication
// (publications) safely: in a transaction of their own, serialised by the
// installers' advisory lock, with every lock wait bounded.
package ddl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// DefaultLockTimeout bounds each wait for a table lock unless the caller's
// option says otherwise (trigger.DefaultLockTimeout is this value).
const DefaultLockTimeout = 5 * time.Second

// beginner is the part of a Querier the catalog-changing functions need.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// CanBegin reports whether q can begin a transaction (or a savepoint).
func CanBegin(q pgsql.Querier) bool {
	_, ok := q.(beginner)
	return ok
}

// InTx runs fn in a transaction (a savepoint if q is a pgx.Tx), or returns
// pgsql.ErrNoTransaction when q cannot begin one.
func InTx(ctx context.Context, q pgsql.Querier, fn func(pgsql.Querier) error) error {
	b, ok := q.(beginner)
	if !ok {
		return pgsql.ErrNoTransaction
	}
	tx, err := b.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// The rollback error is less useful than the one that caused it.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// installLockKey is the pg_advisory_xact_lock key that serialises this
// module's installers across the database ("phxkitdb" in ASCII).
const installLockKey int64 = 0x7068786b69746462

// lockTimeoutSetting renders d for lock_timeout, rounded up to whole
// milliseconds ("0", for d <= 0, turns the bound off).
func lockTimeoutSetting(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return fmt.Sprintf("%dms", (d+time.Millisecond-1)/time.Millisecond)
}

// WithInstallLock runs fn, inside the transaction or savepoint q, under
// the installers' advisory lock and with lock_timeout set to lockTimeout
// (<= 0: no bound).
//
// The advisory lock's wait is bounded by ctx only: it blocks no writer.
// The bound is set after the advisory lock is held, so waiting behind
// another installer is not cut short. It is set transaction-locally
// (set_config(..., true)): on failure the rollback of the transaction or
// savepoint undoes it, and on success the previous value is put back
// before the savepoint is released, so that a caller's pgx.Tx keeps its
// own lock_timeout.
func WithInstallLock(ctx context.Context, q pgsql.Querier, lockTimeout time.Duration, fn func() error) error {
	if _, err := q.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", installLockKey); err != nil {
		return err
	}
	var prev, set string
	err := q.QueryRow(ctx, `SELECT pg_catalog.current_setting('lock_timeout'),
  pg_catalog.set_config('lock_timeout', $1, true)`, lockTimeoutSetting(lockTimeout)).Scan(&prev, &set)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	_, err = q.Exec(ctx, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", prev)
	return err
}

// Error wraps err for the caller: prefix and what was being done, and
// pgsql.ErrLockTimeout when the cause was lock_timeout
// (lock_not_available).
func Error(prefix, what string, err error) error {
	if IsSQLState(err, "55P03") {
		return fmt.Errorf("%s: %s: %w: %w", prefix, what, pgsql.ErrLockTimeout, err)
	}
	return fmt.Errorf("%s: %s: %w", prefix, what, err)
}

// IsSQLState reports whether err is a PostgreSQL error with SQLSTATE code.
func IsSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
