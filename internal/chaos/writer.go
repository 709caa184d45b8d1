package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// txTimeout bounds one writing transaction.
	txTimeout = 20 * time.Second
	// writerConnectTimeout bounds a writer's connection attempt.
	writerConnectTimeout = 5 * time.Second
)

// ConnectWriter opens a direct connection (no proxy) for writing. Writers
// commit synchronously: the harness turns synchronous_commit off, and then
// an immediate shutdown can lose a transaction whose notification was
// already delivered, which the checker would rightly call a phantom.
func ConnectWriter(ctx context.Context, dbURL, appName string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = appName
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["lock_timeout"] = "5s"
	cfg.RuntimeParams["statement_timeout"] = "15s"
	cfg.ConnectTimeout = writerConnectTimeout
	return pgx.ConnectConfig(ctx, cfg)
}

// Statement is one write: SQL taking the batch size as $1.
type Statement struct {
	Table string
	SQL   string
}

// Statements are the writers' statements by table (the NOTIFY soaks').
// Do not modify it.
var Statements = map[string][]Statement{
	TableA: {
		{TableA, `INSERT INTO chaos_a (id) SELECT nextval('chaos_a_seq') FROM generate_series(1, $1)`},
		{TableA, `UPDATE chaos_a SET id = nextval('chaos_a_seq') WHERE id IN (SELECT id FROM chaos_a ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{TableA, `DELETE FROM chaos_a WHERE id IN (SELECT id FROM chaos_a ORDER BY id DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
	TableB: {
		{TableB, `INSERT INTO chaos_b (seq) SELECT nextval('chaos_b_seq') FROM generate_series(1, $1)`},
		{TableB, `UPDATE chaos_b SET seq = nextval('chaos_b_seq') WHERE seq IN (SELECT seq FROM chaos_b ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{TableB, `DELETE FROM chaos_b WHERE seq IN (SELECT seq FROM chaos_b ORDER BY seq DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
	TableS: {
		{TableS, `INSERT INTO chaos_s (v) SELECT 0 FROM generate_series(1, $1)`},
		{TableS, `UPDATE chaos_s SET v = v + 1 WHERE id IN (SELECT id FROM chaos_s ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`},
		{TableS, `DELETE FROM chaos_s WHERE id IN (SELECT id FROM chaos_s ORDER BY id DESC LIMIT $1 FOR UPDATE SKIP LOCKED)`},
	},
}

// truncateS is rare: it waits for, and blocks, every other writer of chaos_s.
var truncateS = Statement{TableS, `TRUNCATE chaos_s`}

// Writer runs random single-row and small batch transactions until stop
// is closed. It never abandons a transaction half-way on stop, so nothing
// commits after Run returns. Set the exported fields before Run; read the
// counters at any time.
type Writer struct {
	ID    int
	DBURL string
	Clock *atomic.Int64
	Rng   *rand.Rand
	Stmts map[string][]Statement // nil: Statements

	Commits   atomic.Int64 // COMMIT returned nil
	Rollbacks atomic.Int64 // deliberate
	Failures  atomic.Int64 // errors (faults, deadlocks, lock timeouts)
}

// Run writes until stop is closed; it blocks until then.
func (w *Writer) Run(stop <-chan struct{}) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			CloseConn(conn)
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			ctx, cancel := context.WithTimeout(context.Background(), writerConnectTimeout)
			c, err := ConnectWriter(ctx, w.DBURL, fmt.Sprintf("chaos-writer-%d", w.ID))
			cancel()
			if err != nil {
				w.Failures.Add(1)
				pause(stop, 100*time.Millisecond)
				continue
			}
			conn = c
		}
		if err := w.transaction(conn); err != nil {
			w.Failures.Add(1)
			if conn.IsClosed() {
				CloseConn(conn)
				conn = nil
			}
		}
		pause(stop, time.Duration(5+w.Rng.IntN(20))*time.Millisecond)
	}
}

// transaction runs 1 to 3 random statements on random tables, and commits
// through CommitOrdered, or (one time in 20) rolls back.
func (w *Writer) transaction(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	for range 1 + w.Rng.IntN(3) {
		st, n := w.pick(), 1+w.Rng.IntN(4)
		if w.Rng.IntN(200) == 0 {
			// Now and then a bulk write: hundreds of notifications in one
			// commit, more than the small mailboxes hold.
			st, n = Statements[AllTables[w.Rng.IntN(2)]][0], 100+w.Rng.IntN(400)
		}
		if _, err := tx.Exec(ctx, st.SQL, n); err != nil {
			return err
		}
	}
	if w.Rng.IntN(20) == 0 {
		w.Rollbacks.Add(1)
		return tx.Rollback(ctx)
	}
	if err := CommitOrdered(ctx, tx, w.Clock, w.ID); err != nil {
		return err
	}
	w.Commits.Add(1)
	return nil
}

func (w *Writer) pick() Statement {
	table := AllTables[w.Rng.IntN(len(AllTables))]
	if table == TableS && w.Rng.IntN(100) == 0 {
		return truncateS
	}
	st := Statements[table]
	if w.Stmts != nil {
		st = w.Stmts[table]
	}
	// Inserts a little more often than the rest, so tables never stay empty.
	k := w.Rng.IntN(len(st) + 1)
	if k == len(st) {
		k = 0
	}
	return st[k]
}

// CommitOrdered records the transaction in chaos_commit and commits it.
// The advisory lock is taken after every write of the transaction and held
// until it ends, so transactions get their seq in commit order (and so in
// the order PostgreSQL queues their notifications). The clock is taken
// before COMMIT is sent: the commit happens after it.
func CommitOrdered(ctx context.Context, tx pgx.Tx, clock *atomic.Int64, writerID int) error {
	cs := clock.Add(1)
	if _, err := tx.Exec(ctx,
		`INSERT INTO chaos_commit (xid, clock, writer) SELECT txid_current(), $1, $2 FROM pg_advisory_xact_lock($3)`,
		cs, writerID, commitLock); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// CommitFence commits one change on every table, the chaos_s statement
// first, and returns the payloads of the row changes. It is the last
// commit of the run: a mailbox that read a fence change has read
// everything committed before it (or was told it had not).
func CommitFence(ctx context.Context, dbURL string, clock *atomic.Int64) ([]string, error) {
	conn, err := ConnectWriter(ctx, dbURL, "chaos-fence")
	if err != nil {
		return nil, err
	}
	defer CloseConn(conn)
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
	if err := CommitOrdered(ctx, tx, clock, -1); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%s:INSERT:%d", TableA, id), fmt.Sprintf("%s:INSERT:%s", TableB, uuid)}, nil
}

// CloseConn closes a connection within a bounded time.
func CloseConn(conn *pgx.Conn) {
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
