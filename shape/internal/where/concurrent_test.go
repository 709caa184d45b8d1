package where_test

import (
	"sync"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestPredConcurrentUse evaluates and renders one Pred from several
// goroutines at once (run with -race): a Pred is immutable.
func TestPredConcurrentUse(t *testing.T) {
	p := mustPred(t, "status = 'open' AND total > $1 OR tenant_id IN (1, 2, 3)", "10.5")
	rows := []struct {
		tenant int
		status string
		total  string
		want   where.Tri
	}{{1, "x", "1", where.True}, {9, "open", "11", where.True}, {9, "open", "10.5", where.False}, {9, "shut", "99", where.False}}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c := rows[(g+i)%len(rows)]
				got, err := p.Eval(benchRow(t, c.tenant, c.status, c.total))
				if err != nil || got != c.want {
					t.Errorf("%+v: %v %v", c, got, err)
					return
				}
				if sql, args := p.SQL(func(s string) string { return `"` + s + `"` }, 3); sql == "" || len(args) != 2 {
					t.Errorf("SQL %q %v", sql, args)
					return
				}
			}
		}()
	}
	wg.Wait()
}
