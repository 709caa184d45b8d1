package replication_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Several processes start at once and each ensures the same publications
// with overlapping tables: every call must succeed and each publication
// ends up with the union of what was asked. Each round uses a new
// publication, so the callers race to create it and then to add tables to
// it. Without the advisory lock, callers act on what they read before
// another committed (CREATE PUBLICATION of one that now exists, ADD TABLE
// of a table now in it) and fail with 23505 or 42710: this test fails.
func TestEnsurePublicationConcurrent(t *testing.T) {
	const (
		callers = 6
		rounds  = 20
	)
	url := pgtest.NewDB(t, pg)
	setupConn := connect(t, url)
	requireSupported(t, setupConn)
	ctx := t.Context()
	var tables []pgsql.Table
	for i := range 4 {
		name := fmt.Sprintf("t%d", i)
		if _, err := setupConn.Exec(ctx, "CREATE TABLE "+name+" (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, pgsql.Table{Schema: "public", Name: name})
	}
	// A barrier per round lines the callers up before each publication.
	barriers := make([]sync.WaitGroup, rounds)
	for r := range barriers {
		barriers[r].Add(callers)
	}
	errs := make(chan error, callers*rounds)
	var wg sync.WaitGroup
	for i := range callers {
		conn := connect(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				barriers[r].Done()
				barriers[r].Wait()
				// Caller i asks for two of the four tables; together they ask for all.
				ask := []pgsql.Table{tables[i%4], tables[(i+r)%4]}
				errs <- replication.EnsurePublication(ctx, conn, fmt.Sprintf("pub_%d", r), ask...)
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d calls failed", failed, callers*rounds)
	}
	for r := range rounds {
		want := map[pgsql.Table]bool{}
		for i := range callers {
			want[tables[i%4]], want[tables[(i+r)%4]] = true, true
		}
		got, err := replication.ListPublishedTables(ctx, setupConn, fmt.Sprintf("pub_%d", r))
		if err != nil {
			t.Fatal(err)
		}
		gotSet := map[pgsql.Table]bool{}
		for _, tbl := range got {
			gotSet[tbl] = true
		}
		if !reflect.DeepEqual(gotSet, want) {
			t.Errorf("pub_%d holds %v, want %v", r, got, want)
		}
	}
}
