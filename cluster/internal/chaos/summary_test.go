//go:build chaos

package chaos_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// summary is the soak's result: a line per mailbox and one for the run.
type summary struct {
	mode      soakMode
	seed      uint64
	duration  time.Duration // under load and faults
	txs       int           // committed writing transactions
	committed int           // changes they owe (folded as NOTIFY folds them)

	chaos.Tally          // the checker's Reports over every mailbox
	mailboxes   []string // a line per mailbox

	faults         map[string]int
	notApplied     int
	slowest        string                   // the longest fault, "kind:duration"
	failovers      int                      // leaderships after the first, over every instance
	takeovers      int                      // leader faults that moved the lease
	maxTakeover    map[string]time.Duration // by fault kind, from a leader fault to another instance leading
	streamResyncs  uint64                   // Resyncs that came through the stream (WAL: the relay's overflows)
	maxDetect      time.Duration            // frozen Listener connection given up (NOTIFY)
	maxReaders     int                      // most instances reading PostgreSQL at once
	maxLeaderless  time.Duration            // longest time no instance led (faults and healing)
	lateRelays     int                      // samples in which a former leader's relay stored events while another led
	writerFailures int64
	failed         bool
}

// line formats the summary that `make chaos` prints and
// docs/reliability.md quotes.
func (s *summary) line() string {
	verdict := chaos.Verdict(s.failed)
	total, faults := chaos.FaultText(faultKinds, s.faults)
	resyncs, reasons := s.ResyncText()
	var takeovers []string
	for _, k := range faultKinds {
		if d, ok := s.maxTakeover[k]; ok {
			takeovers = append(takeovers, fmt.Sprintf("%s<=%v", k, d.Round(time.Millisecond)))
		}
	}
	return fmt.Sprintf("%s: %s instances=%d mailboxes=%d committed=%d (in %d tx) owed=%d delivered=%d resyncs=%d (%s) covered_by_resync=%d "+
		"faults=%d (%s) not_applied=%d slowest_fault=%s failovers=%d takeovers=%d (%s) leaderless_max=%v late_relay_samples=%d stream_resyncs=%d freeze_detect_max=%v max_readers=%d "+
		"silent_losses=%d disordered=%d phantoms=%d unexpected_resyncs=%d writer_errors=%d duration=%v seed=%d",
		s.mode.name, verdict, numInstances, s.Checked, s.committed, s.txs, s.Owed, s.Delivered, resyncs, reasons, s.Covered,
		total, faults, s.notApplied, s.slowest, s.failovers, s.takeovers, strings.Join(takeovers, " "), s.maxLeaderless.Round(time.Millisecond), s.lateRelays, s.streamResyncs,
		s.maxDetect.Round(10*time.Millisecond), s.maxReaders,
		s.Lost, s.Disordered, s.Phantoms, s.Unexpected, s.writerFailures, s.duration.Round(time.Second), s.seed)
}
