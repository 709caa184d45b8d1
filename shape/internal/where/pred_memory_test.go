package where_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestPredDropsSyntaxTree: a bound Pred does not keep the syntax tree it
// was bound from (a shape holds its Pred as long as it lives; the tree
// is several times the size of what evaluating and rendering need), and
// still renders the clause.
func TestPredDropsSyntaxTree(t *testing.T) {
	e, err := where.Parse("tenant_id = $1 AND status IN ('a', 'b')")
	if err != nil {
		t.Fatal(err)
	}
	p, err := where.Bind(e, benchColumns, []string{"7"})
	if err != nil {
		t.Fatal(err)
	}
	freed := make(chan struct{})
	runtime.SetFinalizer(e, func(*where.Expr) { close(freed) })
	e = nil
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-freed:
			done = true
		case <-deadline:
			t.Fatal("the syntax tree is still reachable from its Pred")
		case <-time.After(10 * time.Millisecond): // the finalizer runs after a collection
		}
	}
	sql, args := p.SQL(func(s string) string { return `"` + s + `"` }, 1)
	if want := `(("tenant_id" = $1) AND ("status" IN ($2, $3)))`; sql != want || len(args) != 3 || args[0] != "7" {
		t.Errorf("SQL = %q %v, want %q [7 a b]", sql, args, want)
	}
	if got, want := p.Normal(), `(("tenant_id" = '7') AND ("status" IN ('a', 'b')))`; got != want {
		t.Errorf("Normal = %q, want %q", got, want)
	}
	runtime.KeepAlive(p)
}
