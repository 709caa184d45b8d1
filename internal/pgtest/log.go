package pgtest

import (
	"io"
	"os"
	"strings"
)

// logTailBytes caps how much of the log LogTail reads.
const logTailBytes = 1 << 20

// LogTail returns the last n lines of the server log (initdb's output when
// Start ran it, and the postmaster's stderr), for failure messages. It
// returns "" for External servers, after Close, or when the log cannot be
// read.
func (s *Server) LogTail(n int) string {
	if s.logPath == "" || n <= 0 {
		return ""
	}
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if off := fi.Size() - logTailBytes; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
