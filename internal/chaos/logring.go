package chaos

import (
	"io"
	"strings"
	"sync"
)

// LogRing is a log sink that keeps the last lines written, for a soak to
// print when it fails. It is safe for concurrent use: every instance of a
// soak logs into one.
type LogRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
	tee   io.Writer
}

// NewLogRing returns a ring keeping the last n lines. When tee is not nil
// every write also goes there, in full.
func NewLogRing(n int, tee io.Writer) *LogRing {
	return &LogRing{lines: make([]string, n), tee: tee}
}

// Write records p's lines; it never fails (a tee's error is ignored: the
// ring is what a failing soak prints).
func (r *LogRing) Write(p []byte) (int, error) {
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

// Tail returns the last n lines kept, oldest first, each ending in '\n'.
func (r *LogRing) Tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(all, r.lines[r.next:]...)
	}
	all = append(all, r.lines[:r.next]...)
	var b strings.Builder
	for _, l := range all[max(0, len(all)-n):] {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
