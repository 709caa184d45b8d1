//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// txTimeout bounds one writing transaction.
const txTimeout = 20 * time.Second

// connectWriter opens a direct connection (no proxy) for writing. Writers
// commit synchronously: the harness turns synchronous_commit off, and then
// an immediate shutdown can lose a transaction whose notification was
// already delivered, which the checker would rightly call a phantom.
func connectWriter(ctx context.Context, dbURL, appName string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = appName
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["lock_timeout"] = "5s"
	cfg.RuntimeParams["statement_timeout"] = "15s"
	cfg.ConnectTimeout = connectTimeout
	return pgx.ConnectConfig(ctx, cfg)
}

// statement is one write: SQL taking the batch size as $1.
type statement struct {
	table string
	sql   string
}

var statements = map[string][]statement{
	tableA: {
		{tableA, `INSERT INTO chaos_a (id) SELECT nextval('chaos_a_seq') FROM generate_series(1, $1)`},
		{tableA, `UPDATE chaos_a SET id = nextval('chaos_a_seq') WHERE id IN (SELECT id FROM chaos_a ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{tableA, `DELETE FROM chaos_a WHERE id IN (SELECT id FROM chaos_a ORDER BY id DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
	tableB: {
		{tableB, `INSERT INTO chaos_b (seq) SELECT nextval('chaos_b_seq') FROM generate_series(1, $1)`},
		{tableB, `UPDATE chaos_b SET seq = nextval('chaos_b_seq') WHERE seq IN (SELECT seq FROM chaos_b ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{tableB, `DELETE FROM chaos_b WHERE seq IN (SELECT seq FROM chaos_b ORDER BY seq DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
	tableS: {
		{tableS, `INSERT INTO chaos_s (v) SELECT 0 FROM generate_series(1, $1)`},
		{tableS, `UPDATE chaos_s SET v = v + 1 WHERE id IN (SELECT id FROM chaos_s ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{tableS, `DELETE FROM chaos_s WHERE id IN (SELECT id FROM chaos_s ORDER BY id DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
}

// truncateS is rare: it waits for, and blocks, every other writer of chaos_s.
var truncateS = statement{tableS, `TRUNCATE chaos_s`}

// writer runs random single-row and small batch transactions until stop
// is closed. It never abandons a transaction half-way on stop, so nothing
// commits after it returns.
type writer struct {
	id    int
	dbURL string
	clock *atomic.Int64
	rng   *rand.Rand
	stmts map[string][]statement // nil: statements

	commits   atomic.Int64 // COMMIT returned nil
	rollbacks atomic.Int64 // deliberate
	failures  atomic.Int64 // errors (faults, deadlocks, lock timeouts)
}

func (w *writer) run(stop <-chan struct{}) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
			c, err := connectWriter(ctx, w.dbURL, fmt.Sprintf("chaos-writer-%d", w.id))
			cancel()
			if err != nil {
				w.failures.Add(1)
				pause(stop, 100*time.Millisecond)
				continue
			}
			conn = c
		}
		if err := w.transaction(conn); err != nil {
			w.failures.Add(1)
			if conn.IsClosed() {
				closeConn(conn)
				conn = nil
			}
		}
		pause(stop, time.Duration(5+w.rng.IntN(20))*time.Millisecond)
	}
}

// transaction runs 1 to 3 random statements on random tables, and commits
// through commitOrdered, or (one time in 20) rolls back.
func (w *writer) transaction(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	for range 1 + w.rng.IntN(3) {
		st, n := w.pick(), 1+w.rng.IntN(4)
		if w.rng.IntN(200) == 0 {
			// Now and then a bulk write: hundreds of notifications in one
			// commit, more than the small mailboxes hold.
			st, n = statements[allTables[w.rng.IntN(2)]][0], 100+w.rng.IntN(400)
		}
		if _, err := tx.Exec(ctx, st.sql, n); err != nil {
			return err
		}
	}
	if w.rng.IntN(20) == 0 {
		w.rollbacks.Add(1)
		return tx.Rollback(ctx)
	}
	if err := commitOrdered(ctx, tx, w.clock, w.id); err != nil {
		return err
	}
	w.commits.Add(1)
	return nil
}

func (w *writer) pick() statement {
	table := allTables[w.rng.IntN(len(allTables))]
	if table == tableS && w.rng.IntN(100) == 0 {
		return truncateS
	}
	st := statements[table]
	if w.stmts != nil {
		st = w.stmts[table]
	}
	// Inserts a little more often than the rest, so tables never stay empty.
	k := w.rng.IntN(len(st) + 1)
	if k == len(st) {
		k = 0
	}
	return st[k]
}

// commitOrdered records the transaction in chaos_commit and commits it.
// The advisory lock is taken after every write of the transaction and held
// until it ends, so transactions get their seq in commit order (and so in
// the order PostgreSQL queues their notifications). The clock is taken
// before COMMIT is sent: the commit happens after it.
func commitOrdered(ctx context.Context, tx pgx.Tx, clock *atomic.Int64, writerID int) error {
	cs := clock.Add(1)
	if _, err := tx.Exec(ctx,
		`INSERT INTO chaos_commit (xid, clock, writer) SELECT txid_current(), $1, $2 FROM pg_advisory_xact_lock($3)`,
		cs, writerID, commitLock); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// commitFence commits one change on every table, the chaos_s statement
// first, and returns the payloads of the row changes. It is the last
// commit of the run: a mailbox that read a fence change has read
// everything committed before it (or was told it had not).
func commitFence(ctx context.Context, dbURL string, clock *atomic.Int64) ([]string, error) {
	conn, err := connectWriter(ctx, dbURL, "chaos-fence")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var id int64
	var uuid string
	if _, err := tx.Exec(ctx, `INSERT INTO chaos_s (v) VALUES (-1)`); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `INSERT INTO chaos_a (id, note) VALUES (nextval('chaos_a_seq'), 'fence') RETURNING id`).Scan(&id); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `INSERT INTO chaos_b (seq, note) VALUES (nextval('chaos_b_seq'), 'fence') RETURNING uuid::text`).Scan(&uuid); err != nil {
		return nil, err
	}
	if err := commitOrdered(ctx, tx, clock, -1); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%s:INSERT:%d", tableA, id), fmt.Sprintf("%s:INSERT:%s", tableB, uuid)}, nil
}

// closeConn closes a connection within a bounded time.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// pause sleeps d or until stop is closed.
func pause(stop <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
	case <-t.C:
	}
}
