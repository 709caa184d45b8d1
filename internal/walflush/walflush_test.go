package walflush_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/internal/walflush"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// TestToFlushesAnAsynchronousCommit: after a commit with synchronous_commit
// off, on a server whose WAL writer waits 10 s between flushes, the flush
// position lies before the insert position; To returns with it past.
func TestToFlushesAnAsynchronousCommit(t *testing.T) {
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.NewDB(t, pg)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `ALTER SYSTEM SET wal_writer_delay = '10s'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), `ALTER SYSTEM RESET wal_writer_delay`)
		_, _ = pool.Exec(context.Background(), `SELECT pg_reload_conf()`)
	})
	if _, err := pool.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE t (id int)`); err != nil {
		t.Fatal(err)
	}
	lsnOf := func(sql string) pubsub.LSN {
		t.Helper()
		var s string
		if err := pool.QueryRow(ctx, sql).Scan(&s); err != nil {
			t.Fatal(err)
		}
		l, err := pubsub.ParseLSN(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO t SELECT generate_series(1, 10)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ins := lsnOf(`SELECT pg_current_wal_insert_lsn()::text`)
	if flushed := lsnOf(`SELECT pg_current_wal_flush_lsn()::text`); flushed >= ins {
		t.Skipf("the WAL writer flushed %v already (insert %v): nothing to show", flushed, ins)
	}
	if err := walflush.To(ctx, pool, ins); err != nil {
		t.Fatal(err)
	}
	if flushed := lsnOf(`SELECT pg_current_wal_flush_lsn()::text`); flushed < ins {
		t.Fatalf("To returned with the WAL flushed to %v, before %v", flushed, ins)
	}
}
