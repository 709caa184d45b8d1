package phoenixkitdb

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is what the trigger functions need from a connection: pgx's Exec,
// Query and QueryRow. *pgx.Conn, *pgxpool.Pool and pgx.Tx satisfy it.
//
// The functions that change the catalog (EnsureTrigger, RemoveTrigger,
// RemoveAllTriggers) also need pgx's Begin method, which all three above
// have: they run in a transaction of their own, or in a savepoint when q is
// already a pgx.Tx, so that a failure never leaves a half-installed state
// behind and their advisory lock (held until that transaction ends)
// serialises concurrent installers. Given a Querier without Begin they
// return ErrNoTransaction and send nothing. HasTrigger and
// ListTriggeredTables only read and need no Begin.
type Querier interface {
	Exec(ctx context.Context, sql string, arguments ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ Querier = (*pgx.Conn)(nil)
	_ Querier = (*pgxpool.Pool)(nil)
	_ Querier = pgx.Tx(nil)
)

// beginner is the part of a Querier the catalog-changing functions need.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// inTx runs fn in a transaction (a savepoint if q is a pgx.Tx), or returns
// ErrNoTransaction when q cannot begin one.
func inTx(ctx context.Context, q Querier, fn func(Querier) error) error {
	b, ok := q.(beginner)
	if !ok {
		return ErrNoTransaction
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
