package where_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestNormal checks that spellings of one definition share a normal text
// and that different definitions do not.
func TestNormal(t *testing.T) {
	same := [][2]string{
		{"status = 'open' AND total > 10", "(STATUS='open') and (total>10)"},
		{"(status = 'open' AND total > 10) AND id = 1", "status = 'open' AND (total > 10 AND id = 1)"},
		{"tenant_id = $1", "tenant_id = '42'"},
		{"tenant_id = $1", "tenant_id = ' +42 '"},
		{"total = $2", "total = '1.50'"},
		{"status <> $1", "status != '42'"},
	}
	params := []string{"42", "1.5"}
	for _, c := range same {
		a, b := mustPred(t, c[0], params...), mustPred(t, c[1], params...)
		if a.Normal() != b.Normal() {
			t.Errorf("%q and %q: %q != %q", c[0], c[1], a.Normal(), b.Normal())
		}
	}
	differ := [][2]string{
		{"tenant_id = $1", "tenant_id = '43'"},
		{"status = 'open'", "status = 'Open'"},
		{"status = 'open' OR id = 1", "status = 'open' AND id = 1"},
		{"total > 1", "total >= 1"},
	}
	for _, c := range differ {
		a, b := mustPred(t, c[0], params...), mustPred(t, c[1], params...)
		if a.Normal() == b.Normal() {
			t.Errorf("%q and %q share %q", c[0], c[1], a.Normal())
		}
	}
}

// TestUnreservedWordsAreColumns checks that words PostgreSQL does not
// reserve name columns, and reserved ones are refused.
func TestUnreservedWordsAreColumns(t *testing.T) {
	for _, w := range []string{"json", "at", "row", "of", "document", "now", "overlaps"} {
		e, err := where.Parse(w + " = 1")
		if err != nil || e.Kind != where.KindCompare || e.Args[0].Name != w {
			t.Errorf("%s = 1: %v", w, err)
		}
	}
	for _, w := range []string{"select", "user", "case", "array", "current_date"} {
		if _, err := where.Parse(w + " = 1"); err == nil {
			t.Errorf("%s = 1 accepted", w)
		}
	}
}

// TestIdentifierFolding checks that unquoted names fold ASCII letters
// only, as PostgreSQL does.
func TestIdentifierFolding(t *testing.T) {
	for src, want := range map[string]string{"ÉtAt = 1": "État", `"ÉtAt" = 1`: "ÉtAt", "STATUS = 1": "status", `"STATUS" = 1`: "STATUS"} {
		e, err := where.Parse(src)
		if err != nil || e.Args[0].Name != want {
			t.Errorf("%s: %v %q, want %q", src, err, e.Args[0].Name, want)
		}
	}
}
