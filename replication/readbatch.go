package replication

import (
	"io"
	"time"
)

// beforeRead is the reader under the session's pgproto3 frontend. The
// frontend reads only when it holds no complete message, so this is where
// the Source is about to wait for the server: it hands over what it
// decoded (session.flush) and, while small transactions stream in fast,
// pauses for Config.BatchDelay first so that the next read takes several
// of them at once. Only the goroutine running Serve receives, so only it
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
	d := ss.s.cfg.BatchDelay
	pause := false
	if ss.inTxn {
		// No pause inside a transaction: its events wait for its Commit
		// or a full chunk anyway, and a large one streams in as fast as
		// the walsender decodes it. Pausing there (once done past 128
		// events) made the Source hold the walsender back, costing both
		// CPU per row and speed in bench section 7.
	} else if ss.flush() {
		// An open transaction's events wait as above: the server sends a
		// transaction only once it committed, so the rest is on its way.
		now := b.now()
		pause = now.Sub(b.lastHandoff) < 2*d
		b.lastHandoff = now
	}
	// Pausing while the socket still held data would only slow a backlog
	// down: drained says the last read emptied it.
	if err := ss.gate.halted; err != nil {
		return 0, err
	}
	if pause && d > 0 && b.drained {
		b.sleep(d)
	}
	n, err := b.r.Read(p)
	b.drained = n < len(p)
	return n, err
}
