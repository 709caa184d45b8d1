//go:build chaos

package chaos_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"fmt"
	"sort"
	"strings"
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

	delivered  int                   // changes read, over every mailbox
	owed       int                   // changes owed, over every mailbox
	covered    int                   // owed but missed, with a Resync to tell
	resyncs    map[pubsub.Reason]int // Resyncs read, by reason
	lost       int                   // silent losses: must be 0
	disordered int
	phantoms   int
	unexpected int // WAL: Resyncs of a reason not allowed
	slotLosses int // WAL: lost slots the Sources reported at ERROR

	faults         map[string]int
	maxDetect      time.Duration // slowest frozen-connection detection
	maxStop        time.Duration // slowest Serve return after removal from the supervisor
	garbage        int           // invalid payloads sent
	stats          listenerStats
	writerFailures int64 // writer errors caused by the faults (retried)

	heapStart, heapEnd uint64
	failed             bool
}

func (s *summary) add(r chaos.Report) {
	s.delivered += r.Delivered
	s.owed += r.Owed
	s.covered += r.Covered
	s.lost += r.Lost
	s.disordered += r.Disordered
	s.phantoms += r.Phantoms
	s.unexpected += r.Unexpected
	for k, v := range r.Resyncs {
		s.resyncs[k] += v
	}
}

// line formats the summary that `make chaos` prints and
// docs/reliability.md quotes.
func (s *summary) line() string {
	verdict := "PASS"
	if s.failed {
		verdict = "FAIL"
	}
	var faults []string
	total := 0
	for _, k := range s.mode.kinds {
		faults = append(faults, fmt.Sprintf("%s=%d", k, s.faults[k]))
		total += s.faults[k]
	}
	var reasons []string
	resyncs := 0
	for k, v := range s.resyncs {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
		resyncs += v
	}
	sort.Strings(reasons)
	heap := mib(s.heapStart) + "->" + mib(s.heapEnd)
	if s.heapEnd == 0 {
		heap = "(judged by the other soak, which ended last)"
	}
	if s.mode.wal {
		return fmt.Sprintf("%s: %s committed=%d (in %d tx) owed=%d delivered=%d resyncs=%d (%s) covered_by_resync=%d "+
			"faults=%d (%s) silent_losses=%d disordered=%d phantoms=%d unexpected_resyncs=%d slot_losses=%d "+
			"reconnects=%d received=%d published=%d garbage_writes=%d freeze_detect_max=%v stop_max=%v heap=%s duration=%v seed=%d",
			s.mode.name, verdict, s.committed, s.txs, s.owed, s.delivered, resyncs, strings.Join(reasons, " "), s.covered,
			total, strings.Join(faults, " "), s.lost, s.disordered, s.phantoms, s.unexpected, s.slotLosses,
			s.stats.reconnects, s.stats.received, s.stats.published, s.garbage, s.maxDetect.Round(10*time.Millisecond),
			s.maxStop.Round(time.Millisecond), heap, s.duration.Round(time.Second), s.seed)
	}
	return fmt.Sprintf("chaos: %s committed=%d (in %d tx) owed=%d delivered=%d resyncs=%d (%s) covered_by_resync=%d "+
		"faults=%d (%s) silent_losses=%d disordered=%d phantoms=%d "+
		"reconnects=%d invalid_payloads=%d/%d freeze_detect_max=%v stop_max=%v heap=%s duration=%v seed=%d",
		verdict, s.committed, s.txs, s.owed, s.delivered, resyncs, strings.Join(reasons, " "), s.covered,
		total, strings.Join(faults, " "), s.lost, s.disordered, s.phantoms,
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
