//go:build chaos

package chaos_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

var (
	durationFlag = flag.Duration("chaos.duration", 60*time.Second, "how long the soak injects faults under load")
	seedFlag     = flag.Uint64("chaos.seed", 0, "seed of the soak's randomness (0: from the clock); printed at the start")
	sabotageFlag = flag.String("chaos.sabotage", "", "break delivery on purpose to prove the checker catches it: "+
		"drop (one change in 5000 vanishes), dup (one in 5000 is read twice), noresync (every Resync vanishes); the soak must then FAIL; "+
		"afterresync (the first change after each Resync vanishes) must fail the WAL soak only, whose Resyncs cover only what committed before they were read")
)

// pg is the package's server. The soak restarts it.
var pg *pgtest.Server

// TestMain runs the tests against a throwaway server and checks for
// leaked goroutines afterwards.
func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// ring is a concurrency-safe log sink that keeps the last lines written,
// printed when the soak fails.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newRing(n int) *ring { return &ring{lines: make([]string, n)} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		r.lines[r.next] = line
		r.next = (r.next + 1) % len(r.lines)
		r.full = r.full || r.next == 0
	}
	return len(p), nil
}

// tail returns the last n lines.
func (r *ring) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(all, r.lines[r.next:]...)
	}
	all = append(all, r.lines[:r.next]...)
	var b bytes.Buffer
	for _, l := range all[max(0, len(all)-n):] {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
