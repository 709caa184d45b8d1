package shape

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A snapshot must hold only what survives a crash.
//
// With synchronous_commit off (for a session, a transaction, or the whole
// server) a transaction is visible to other sessions as soon as it
// commits, before its commit record is flushed. A snapshot may then read
// rows of a transaction that a crash a moment later erases: the server
// comes back without them, the WAL stream never mentions them (the
// walsender sends only flushed WAL), and a subscriber would keep them for
// good. So a snapshot's rows are handed out only once the server's WAL is
// flushed up to the insert position recorded with the snapshot, which
// lies past the commit record of every transaction the snapshot saw.
//
// When every commit is synchronous the WAL is flushed that far already
// and this costs one query. Otherwise the WAL writer flushes within about
// wal_writer_delay (200 ms by default; up to three times that when it was
// asleep). Forcing a flush would take a transaction that writes WAL
// (one that only has a transaction id commits asynchronously) or a
// privileged function; waiting needs neither.

// flushPoll bounds the pause between two looks at the flush position.
const flushPoll = 20 * time.Millisecond

// waitFlushed waits until the server has flushed its WAL up to lsn, or
// until ctx ends.
func waitFlushed(ctx context.Context, pool *pgxpool.Pool, lsn pubsub.LSN) error {
	pause := time.Millisecond
	for {
		var text string
		if err := pool.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&text); err != nil {
			return err
		}
		at, err := pubsub.ParseLSN(text)
		if err != nil {
			return err
		}
		if at >= lsn {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		pause = min(2*pause, flushPoll)
	}
}
