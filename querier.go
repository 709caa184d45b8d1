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
// When the Querier also has pgx's Begin method (all three above do), the
// functions that change the catalog run in a transaction of their own, or in
// a savepoint when q is already a pgx.Tx, so that a failure never leaves a
// half-installed state behind.
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

// beginner is the optional part of a Querier used to make DDL atomic.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// inTx runs fn in a transaction (a savepoint if q is a pgx.Tx) when q can
// begin one, and directly on q otherwise.
func inTx(ctx context.Context, q Querier, fn func(Querier) error) error {
	b, ok := q.(beginner)
	if !ok {
		return fn(q)
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
