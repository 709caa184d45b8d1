//go:build chaos

package chaos_test

import (
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// summary is the soak's one-line result.
type summary struct {
	mode      soakMode
	seed      uint64
	duration  time.Duration // under load and faults
	txs       int           // committed writing transactions
	committed int           // notifications they owe (after folding)

	chaos.Tally     // the checker's Reports over every mailbox
	slotLosses  int // WAL: lost slots the Sources reported at ERROR

	faults         map[string]int
	maxDetect      time.Duration // slowest frozen-connection detection
	maxStop        time.Duration // slowest Serve return after removal from the supervisor
	garbage        int           // invalid payloads sent
	stats          listenerStats
	writerFailures int64 // writer errors caused by the faults (retried)

	heapStart, heapEnd uint64
	failed             bool
}

// line formats the summary that `make chaos` prints and
// docs/reliability.md quotes.
func (s *summary) line() string {
	verdict := chaos.Verdict(s.failed)
	total, faults := chaos.FaultText(s.mode.kinds, s.faults)
	resyncs, reasons := s.ResyncText()
	heap := mib(s.heapStart) + "->" + mib(s.heapEnd)
	if s.heapEnd == 0 {
		heap = "(judged by the other soak, which ended last)"
	}
	if s.mode.wal {
		return fmt.Sprintf("%s: %s committed=%d (in %d tx) owed=%d delivered=%d resyncs=%d (%s) covered_by_resync=%d "+
			"faults=%d (%s) silent_losses=%d disordered=%d phantoms=%d unexpected_resyncs=%d slot_losses=%d "+
			"reconnects=%d received=%d published=%d garbage_writes=%d freeze_detect_max=%v stop_max=%v heap=%s duration=%v seed=%d",
			s.mode.name, verdict, s.committed, s.txs, s.Owed, s.Delivered, resyncs, reasons, s.Covered,
			total, faults, s.Lost, s.Disordered, s.Phantoms, s.Unexpected, s.slotLosses,
			s.stats.reconnects, s.stats.received, s.stats.published, s.garbage, s.maxDetect.Round(10*time.Millisecond),
			s.maxStop.Round(time.Millisecond), heap, s.duration.Round(time.Second), s.seed)
	}
	return fmt.Sprintf("chaos: %s committed=%d (in %d tx) owed=%d delivered=%d resyncs=%d (%s) covered_by_resync=%d "+
		"faults=%d (%s) silent_losses=%d disordered=%d phantoms=%d "+
		"reconnects=%d invalid_payloads=%d/%d freeze_detect_max=%v stop_max=%v heap=%s duration=%v seed=%d",
		verdict, s.committed, s.txs, s.Owed, s.Delivered, resyncs, reasons, s.Covered,
		total, faults, s.Lost, s.Disordered, s.Phantoms,
		s.stats.reconnects, s.stats.invalid, s.garbage*numApps, s.maxDetect.Round(10*time.Millisecond), s.maxStop.Round(time.Millisecond),
		heap, s.duration.Round(time.Second), s.seed)
}

// listenerStats sums the Listeners' counters.
type listenerStats struct {
	reconnects, invalid, received, published uint64
}

func listenerTotals(apps []*app) listenerStats {
	var t listenerStats
	for _, a := range apps {
		st := a.l.Stats()
		t.reconnects += st.Reconnects
		t.invalid += st.Invalid
		t.received += st.Received
		t.published += st.Published
	}
	return t
}
