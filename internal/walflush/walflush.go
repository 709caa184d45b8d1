// Package walflush makes a PostgreSQL server flush its WAL up to a
// position, for readers that must hold only what survives a crash.
//
// With synchronous_commit off (for a session, a transaction, or the
// server) a transaction is visible to other sessions as soon as it
// commits, before its commit record is flushed, and a crash a moment
// later erases it. A snapshot that read its rows must not hand them out
// until the WAL is flushed past that commit: the insert position read
// after the rows lies past it.
//
// Waiting for the WAL writer is not enough: it flushes asynchronous
// commits within about three wal_writer_delay, but the insert position may
// lie past records no one waits for (an open transaction's rows, or just
// a page header), so the flush position can stay below it for as long as
// the server stays quiet. Flushing takes a write, and the only write every
// role may make without a table is a logical decoding message: a
// transaction that emits one has an id and WAL, so with
// synchronous_commit = local its commit flushes every record before it.
// The WAL source drops messages with [Prefix].
package walflush

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Prefix is the prefix of the logical decoding messages [To] emits (with
// empty content). Readers of the WAL other than this module's see them.
const Prefix = "phoenixkitdb.flush"

// To returns once the server of pool has flushed its WAL up to lsn: at
// once when it has, otherwise after committing a transaction that emits
// one logical decoding message (see the package documentation). It blocks
// for one or two round trips and, in the second case, the server's flush.
func To(ctx context.Context, pool *pgxpool.Pool, lsn pubsub.LSN) error {
	var text string
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&text); err != nil {
		return fmt.Errorf("reading the WAL flush position: %w", err)
	}
	at, err := pubsub.ParseLSN(text)
	if err != nil {
		return err
	}
	if at >= lsn {
		return nil
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL synchronous_commit = local`)
		b.Queue(`SELECT pg_logical_emit_message(true, $1, '')`, Prefix)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("flushing the WAL (a transaction emitting a logical decoding message with synchronous_commit = local): %w", err)
	}
	return nil
}
