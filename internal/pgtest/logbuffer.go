package pgtest

import (
	"bytes"
	"strings"
	"sync"
)

// LogBuffer is a concurrency-safe io.Writer that keeps everything written
// to it, for tests that assert on log lines (point a slog handler at it).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many times s occurs in what was written.
func (b *LogBuffer) Count(s string) int { return strings.Count(b.String(), s) }
