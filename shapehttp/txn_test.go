package shapehttp_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// TestWholeTransactions: in WAL mode a client never sees a transaction
// half applied. Each transaction moves rows out of the shape and as many
// in, one statement a row, so that the shape always holds the same number
// of rows; a client that long-polls meanwhile finds that number at every
// up-to-date, with small chunks (a transaction is larger than one).
// (NOTIFY mode fetches a transaction's rows in batches after its commit:
// it may show one in parts, see docs/http.md.)
func TestWholeTransactions(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second, ChunkBytes: 300})
	const inShape, rows, moves, txns = 8, 24, 4, 40
	e.exec(`INSERT INTO items (id, status, n) SELECT g, CASE WHEN g <= $1 THEN 'open' ELSE 'paid' END, g FROM generate_series(1, $2) g`, inShape, rows)
	q := url.Values{"table": {"items"}, "where": {"status = 'open'"}, "columns": {"id,status"}}
	c := newGoClient(t, e.shapeURL(), q)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.converge(ctx, e.oracle([]string{"id", "status"}, "status = 'open'"), 20*time.Second)

	done := make(chan error, 1)
	defer func() {
		cancel()
		for range done {
		}
	}()
	go func() {
		defer close(done)
		open := make([]int, 0, rows)
		for i := 1; i <= inShape; i++ {
			open = append(open, i)
		}
		closed := make([]int, 0, rows)
		for i := inShape + 1; i <= rows; i++ {
			closed = append(closed, i)
		}
		for k := range txns {
			if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				// Out and in alternate, one row a statement.
				for j := range moves {
					out, in := open[(k+j)%len(open)], closed[(k*3+j)%len(closed)]
					if _, err := tx.Exec(ctx, `UPDATE items SET status = 'paid' WHERE id = $1`, out); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, `UPDATE items SET status = 'open' WHERE id = $1`, in); err != nil {
						return err
					}
					open[(k+j)%len(open)], closed[(k*3+j)%len(closed)] = in, out
				}
				return nil
			}); err != nil {
				done <- err
				return
			}
		}
	}()
	upToDates, writing := 0, true
	for writing || !rowsEqual(c.rows, e.oracle([]string{"id", "status"}, "status = 'open'")) {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		if err := c.poll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, up := c.lastHeader["Electric-Up-To-Date"]; up {
			upToDates++
			if len(c.rows) != inShape {
				t.Fatalf("after up-to-date %d the client holds %d rows; every transaction leaves %d: it saw part of one", upToDates, len(c.rows), inShape)
			}
		}
	}
	if c.refetches != 0 {
		t.Errorf("%d refetches", c.refetches)
	}
}
