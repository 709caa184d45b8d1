package replication

import (
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func beginAt(lsn uint64) []byte {
	b := binary.BigEndian.AppendUint64([]byte{'B'}, lsn)
	b = binary.BigEndian.AppendUint64(b, 0)
	return binary.BigEndian.AppendUint32(b, 7)
}

func commitAt(lsn, end uint64) []byte {
	b := binary.BigEndian.AppendUint64([]byte{'C', 0}, lsn)
	b = binary.BigEndian.AppendUint64(b, end)
	return binary.BigEndian.AppendUint64(b, 0)
}

// testSession is a session on a PubSub with one mailbox subscribed to
// everything, knowing relationMsg's table.
func testSession(t *testing.T, cfg Config) (*session, *pubsub.Mailbox) {
	t.Helper()
	ps := pubsub.New(slog.New(slog.DiscardHandler))
	mb := pubsub.NewMailbox(1024)
	t.Cleanup(mb.Close)
	if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
		t.Fatal(err)
	}
	s := &Source{cfg: cfg, log: slog.New(slog.DiscardHandler), ps: ps}
	ss := &session{s: s, relations: map[uint32]*relation{}, chunk: make([]pubsub.Event, 0, chunkSize)}
	feed(t, ss, relationMsg())
	return ss, mb
}

func feed(t *testing.T, ss *session, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := ss.message(m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitConfirmedOnlyAfterHandOff: transactions read in one go are
// handed over together before the next read, and neither their end
// (the position confirmed to the server) nor their commit (the position
// replays are skipped up to) counts before they were.
func TestCommitConfirmedOnlyAfterHandOff(t *testing.T) {
	ss, mb := testSession(t, Config{Slot: "s"})
	feed(t, ss, beginAt(1000), insertMsg(), commitAt(1000, 1100), beginAt(2000), insertMsg())
	p := &ss.s.pos
	if mb.Len() != 0 || ss.ack != 0 || p.lastCommit != 0 || p.partialLSN != 0 {
		t.Fatalf("before the hand-off: %d events out, ack %d, position %+v", mb.Len(), ss.ack, *p)
	}
	if !ss.flush() {
		t.Fatal("flush did not report the completed transaction")
	}
	if mb.Len() != 2 || ss.ack != 1100 || p.lastCommit != 1000 || p.partialLSN != 2000 || p.partialCount != 1 {
		t.Fatalf("after the hand-off: %d events out, ack %d, position %+v", mb.Len(), ss.ack, *p)
	}
	// Its commit marks wait in the chunk: its commit counts once they
	// were handed over too.
	feed(t, ss, commitAt(2000, 2100))
	if ss.ack != 1100 || p.lastCommit != 1000 {
		t.Fatalf("after the last commit, its marks not handed over: ack %d, position %+v", ss.ack, *p)
	}
	if !ss.flush() {
		t.Fatal("flush did not report the completed transaction")
	}
	if ss.ack != 2100 || p.lastCommit != 2000 || p.partialLSN != 0 || p.partialCount != 0 {
		t.Fatalf("after its marks: ack %d, position %+v", ss.ack, *p)
	}
	// A keepalive between transactions may confirm the server's end only
	// when nothing waits for a hand-off.
	feed(t, ss, beginAt(3000), insertMsg(), commitAt(3000, 3100))
	if err := ss.copyData(keepalive(5000)); err != nil {
		t.Fatal(err)
	}
	if ss.ack != 2100 {
		t.Fatalf("a keepalive confirmed %d past events not handed over", ss.ack)
	}
}

func keepalive(end uint64) []byte {
	b := binary.BigEndian.AppendUint64([]byte{'k'}, end)
	b = binary.BigEndian.AppendUint64(b, 0)
	return append(b, 0)
}

// shortReader returns n bytes per read.
type shortReader struct{ n int }

func (r *shortReader) Read(p []byte) (int, error) {
	if r.n > len(p) {
		return len(p), nil
	}
	return r.n, nil
}

var _ io.Reader = (*shortReader)(nil)

// TestPauseOnlyWhileKeepingUpWithFastTransactions: the reader hands over
// completed transactions before a read, and pauses for BatchDelay first
// only when its last read emptied the socket and the previous hand-off
// was less than two delays before; never inside a transaction, however
// large. An open transaction's events wait for its commit.
func TestPauseOnlyWhileKeepingUpWithFastTransactions(t *testing.T) {
	const d = time.Millisecond
	ss, mb := testSession(t, Config{Slot: "s", BatchDelay: d})
	clock := time.Unix(1000, 0)
	var slept []time.Duration
	src := &shortReader{n: 10}
	b := &beforeRead{r: src, ss: ss, sleep: func(x time.Duration) { slept = append(slept, x) }, now: func() time.Time { return clock }}
	buf := make([]byte, 100)
	lsn := uint64(1000)
	txn := func(open bool) {
		lsn += 1000
		feed(t, ss, beginAt(lsn), insertMsg())
		if !open {
			feed(t, ss, commitAt(lsn, lsn+100))
		}
	}
	step := func(what string, advance time.Duration, open bool, wantPause bool) {
		t.Helper()
		clock = clock.Add(advance)
		txn(open)
		n := len(slept)
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
		if paused := len(slept) > n; paused != wantPause {
			t.Fatalf("%s: paused %v, want %v", what, paused, wantPause)
		}
	}
	step("first transaction", 0, false, false)
	step("100 µs later", 100*time.Microsecond, false, true)
	step("1.5 ms later", 1500*time.Microsecond, false, true)
	step("5 ms later", 5*time.Millisecond, false, false)
	src.n = 1000 // the next read fills the buffer: the socket held more
	step("100 µs later, last read emptied the socket", 100*time.Microsecond, false, true)
	step("100 µs later, socket not emptied", 100*time.Microsecond, false, false)
	src.n = 10
	out := mb.Len()
	step("small transaction open", 100*time.Microsecond, true, false)
	if mb.Len() != out {
		t.Fatal("an open transaction's events were handed over before its commit")
	}
	for range 1000 {
		feed(t, ss, insertMsg())
	}
	n := len(slept)
	if _, err := b.Read(buf); err != nil {
		t.Fatal(err)
	}
	if len(slept) != n || mb.Len() != out+1000/chunkSize*chunkSize {
		t.Fatalf("large transaction open: paused %v, %d events handed over; want no pause and only full chunks", len(slept) > n, mb.Len()-out)
	}
	feed(t, ss, commitAt(lsn, lsn+100))
	ss.s.cfg.BatchDelay = -1
	step("pausing turned off", 100*time.Microsecond, false, false)
	if slept[0] != d {
		t.Fatalf("paused %v, want %v", slept[0], d)
	}
}
