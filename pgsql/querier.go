package pgsql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is what the catalog functions (packages trigger and replication,
// and the root's FindLeftovers) need from a connection: pgx's Exec, Query
// and QueryRow. *pgx.Conn, *pgxpool.Pool and pgx.Tx satisfy it.
//
// The functions that change the catalog (trigger.Ensure, trigger.Remove,
// trigger.RemoveAll, replication.EnsurePublication and
// replication.RemoveFromPublication) also need pgx's Begin method, which
// all three above have: they run in a transaction of their own, or in a
// savepoint when q is already a pgx.Tx, so that a failure never leaves a
// half-installed state behind and their advisory lock (held until that
// transaction ends) serialises concurrent installers. Given a Querier
// without Begin they return ErrNoTransaction and send nothing. The
// functions that only read need no Begin.
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

// ErrNoTransaction is returned by the catalog-changing functions for a
// Querier without pgx's Begin method: they serialise on an advisory lock
// that lasts one transaction and must never leave half an installation
// behind.
var ErrNoTransaction = errors.New("pgsql: querier cannot begin a transaction")
