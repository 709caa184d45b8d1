package chaos_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

func TestLogRingKeepsTheLastLinesAndTees(t *testing.T) {
	var tee bytes.Buffer
	r := chaos.NewLogRing(3, &tee)
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(r, "line %d\n", i)
	}
	_, _ = r.Write([]byte("line 5\nline 6\n")) // one write, two lines
	if got, want := r.Tail(10), "line 4\nline 5\nline 6\n"; got != want {
		t.Fatalf("Tail(10) = %q, want %q", got, want)
	}
	if got, want := r.Tail(1), "line 6\n"; got != want {
		t.Fatalf("Tail(1) = %q, want %q", got, want)
	}
	if got := tee.String(); got != "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n" {
		t.Fatalf("tee got %q", got)
	}
	if got := chaos.NewLogRing(4, nil).Tail(4); got != "" {
		t.Fatalf("empty ring: %q", got)
	}
}
