package replication

import (
	"io"
	"time"
)

// beforeRead is the reader under the session's pgproto3 frontend. The
// frontend reads only when it holds no complete message, so this is where
// the Source is about to wait for the server: it hands over what it
// decoded (session.flush) and, while transactions stream in fast, pauses
// for Config.BatchDelay first so that the next read takes several of
// them at once. Only the goroutine running Serve receives, so only it
// calls Read.
type beforeRead struct {
	r     io.Reader
	ss    *session
	sleep func(time.Duration) // time.Sleep; tests replace it
	now   func() time.Time    // time.Now; tests replace it

	drained     bool      // the last read returned less than it asked for
	lastHandoff time.Time // when a flush last completed a transaction
}

func (b *beforeRead) Read(p []byte) (int, error) {
	ss := b.ss
	// An open transaction's events wait for its Commit (or a full chunk):
	// the server sends a transaction only once it committed, so the rest
	// of it is on its way.
	if !ss.inTxn && ss.flush() {
		now := b.now()
		if d := ss.s.cfg.BatchDelay; d > 0 && b.drained && now.Sub(b.lastHandoff) < 2*d {
			// Pausing while the socket still held data would only slow a
			// backlog down: drained says the last read emptied it.
			b.sleep(d)
		}
		b.lastHandoff = now
	}
	n, err := b.r.Read(p)
	b.drained = n < len(p)
	return n, err
}
