//go:build chaos

package chaos_test

import (
	"bytes"
	"flag"
	"io"
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
	logFlag      = flag.String("chaos.log", "", "also write every log line of the instances, DEBUG included, to this file (the soak's name is appended)")
	sabotageFlag = flag.String("chaos.sabotage", "", "break delivery on purpose to prove the soak catches it: "+
		"drop (one change in 2000 a consumer reads vanishes) or dup (one in 2000 is recorded twice); the soak must then FAIL")
	faultsFlag = flag.String("chaos.faults", "", "comma-separated fault kinds to apply (default: every kind), to reproduce a failure")
)

// pg is the package's server: the NOTIFY soak runs on it (and restarts it).
var pg *pgtest.Server

// TestMain runs the soaks against a throwaway server and checks for
// leaked goroutines afterwards.
func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// ring is a concurrency-safe log sink that keeps the last lines written,
// printed when the soak fails.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
	tee   io.Writer // every line, when -chaos.log is set
}

func newRing(n int) *ring { return &ring{lines: make([]string, n)} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tee != nil {
		_, _ = r.tee.Write(p)
	}
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

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
