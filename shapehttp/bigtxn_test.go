package shapehttp_test

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// TestWholeTransactionsSlowSource: a transaction the WAL source hands over
// in several chunks, with pauses well over 20 ms between them, still
// reaches a client whole. Each transaction moves every row of the shape
// out (first) and as many others in (after), so half of one shows fewer
// rows; a client long-polling meanwhile must find the same number, and
// the rows PostgreSQL had after a transaction, at every up-to-date. The
// pauses come from a real slow consumer: an ack mailbox of the source that
// acknowledges late, which makes the source wait between chunks.
func TestWholeTransactionsSlowSource(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second})
	const inShape, txns = 1000, 3
	e.exec(`INSERT INTO items (id, status, n) SELECT g, CASE WHEN g <= $1 THEN 'open' ELSE 'paid' END, g FROM generate_series(1, $1 * 2) g`, inShape)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	slow := pubsub.NewMailbox(600, pubsub.WithAck(), pubsub.WithName("slow"))
	if err := e.ps.SubscribeTable(slow, "public", "items"); err != nil {
		t.Fatal(err)
	}
	consumed := make(chan struct{})
	defer func() {
		cancel()
		slow.Close()
		<-consumed
	}()
	go func() {
		defer close(consumed)
		n := 0
		for ev := range slow.C() {
			if n++; n%400 == 0 {
				// A slow consumer: the source waits for it (its
				// capacity is about a chunk) in the middle of a
				// transaction.
				select {
				case <-time.After(80 * time.Millisecond):
				case <-ctx.Done():
				}
			}
			_ = slow.Ack(ev)
		}
	}()

	cols := []string{"id", "status"}
	q := url.Values{"table": {"items"}, "where": {"status = 'open'"}, "columns": {"id,status"}}
	c := newGoClient(t, e.shapeURL(), q)
	c.converge(ctx, e.oracle(cols, "status = 'open'"), 20*time.Second)

	// states are the shape's rows after each transaction as PostgreSQL
	// had them, read by SELECT inside it, after its last change.
	states := []string{keysOf(c.rows)}
	stated := make(chan string, txns)
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for range txns {
			err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				// Out, then in: 2,000 changes, four chunks of the source.
				rs, err := tx.Query(ctx, `UPDATE items SET status = 'paid' WHERE status = 'open' RETURNING id`)
				if err != nil {
					return err
				}
				out, err := pgx.CollectRows(rs, pgx.RowTo[int64])
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE items SET status = 'open' WHERE status = 'paid' AND id <> ALL($1)`, out); err != nil {
					return err
				}
				rs, err = tx.Query(ctx, `SELECT id::text FROM items WHERE status = 'open'`)
				if err != nil {
					return err
				}
				ids, err := pgx.CollectRows(rs, pgx.RowTo[string])
				if err != nil {
					return err
				}
				stated <- strings.Join(sorted(ids), ",")
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
	}()

	var seen []string // the client's rows at each up-to-date
	writing := true
	for writing || !rowsEqual(c.rows, e.oracle(cols, "status = 'open'")) {
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
			if len(c.rows) != inShape {
				t.Fatalf("after up-to-date %d the client holds %d rows; every transaction leaves %d: it saw part of one", len(seen)+1, len(c.rows), inShape)
			}
			seen = append(seen, keysOf(c.rows))
		}
	}
	close(stated)
	for st := range stated {
		states = append(states, st)
	}
	if len(states) != txns+1 {
		t.Fatalf("%d states, want %d", len(states), txns+1)
	}
	for i, s := range seen {
		if !slices.Contains(states, s) {
			t.Fatalf("up-to-date %d shows rows PostgreSQL never had at a transaction's end", i+1)
		}
	}
	if c.refetches != 0 {
		t.Errorf("%d refetches", c.refetches)
	}
}

// keysOf returns the keys of rows, sorted, joined by commas.
func keysOf(rows map[string]row) string {
	return strings.Join(sorted(slices.Collect(maps.Keys(rows))), ",")
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
