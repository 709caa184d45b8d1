package shape

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// A snapshot query for a per-row (Subscribe) subscriber makes the rows'
// pubsub Rows as it reads them, in the job's goroutine, so that the
// router only hands them over; the rows equal what Rows holds. Without
// query.pub the router made them after the query, one 100,000-row
// snapshot stalling every other shape for tens of milliseconds.
func TestSnapshotQueryMakesPubRows(t *testing.T) {
	srv, err := pgtest.External(os.Getenv(pgtest.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, tenant_id bigint, note text);
		INSERT INTO items SELECT g, g % 3, CASE WHEN g % 4 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 1000) g`); err != nil {
		t.Fatal(err)
	}
	bd, err := bind(Definition{Table: "items", Where: "tenant_id = $1", Params: []string{"1"}}, &benchInfo)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := layoutOf(bd.cols)
	if err != nil {
		t.Fatal(err)
	}
	var want int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM items WHERE tenant_id = 1`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	for _, pub := range []bool{false, true} {
		q := newQuery(bd, layout)
		q.pub = pub
		s, err := q.take(ctx, pool, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.rows.Len(); n != want {
			t.Fatalf("%d rows, want %d", n, want)
		}
		if got := len(s.pub); pub && got != s.rows.Len() || !pub && got != 0 {
			t.Fatalf("pub %v: the query made %d pubsub Rows of %d", pub, got, s.rows.Len())
		}
		rows := s.pubRows()
		for i, row := range rows {
			for c := range layout.Len() {
				wst, wtext := s.rows.At(i, c)
				if st, text := row.At(c); st != wst || text != wtext {
					t.Fatalf("pub %v: row %d column %d is %v %q, Rows has %v %q", pub, i, c, st, text, wst, wtext)
				}
			}
		}
		if pub && &rows[0] != &s.pub[0] {
			t.Fatal("pubRows made the rows again")
		}
	}
}
