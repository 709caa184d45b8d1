package chaos

import (
	"fmt"
	"sort"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Tally sums the checker's Reports over a soak's mailboxes, for the
// soak's summary line. Not safe for concurrent use.
type Tally struct {
	Checked    int // mailboxes judged
	Delivered  int // changes read
	Owed       int // changes owed
	Covered    int // owed but missed, with a Resync to tell
	Lost       int // silent losses: must be 0
	Disordered int
	Phantoms   int
	Unexpected int                   // Resyncs of a reason the mailbox does not allow
	Resyncs    map[pubsub.Reason]int // Resyncs read, by reason
}

// Add adds one mailbox's Report.
func (t *Tally) Add(r Report) {
	t.Checked++
	t.Delivered += r.Delivered
	t.Owed += r.Owed
	t.Covered += r.Covered
	t.Lost += r.Lost
	t.Disordered += r.Disordered
	t.Phantoms += r.Phantoms
	t.Unexpected += r.Unexpected
	if t.Resyncs == nil {
		t.Resyncs = map[pubsub.Reason]int{}
	}
	for k, v := range r.Resyncs {
		t.Resyncs[k] += v
	}
}

// ResyncText returns the Resyncs read in all and "reason=n ..." sorted by
// reason.
func (t *Tally) ResyncText() (total int, text string) {
	var reasons []string
	for k, v := range t.Resyncs {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(reasons)
	return total, strings.Join(reasons, " ")
}

// FaultText returns the faults injected in all and "kind=n ..." in the
// order of kinds.
func FaultText(kinds []string, counts map[string]int) (total int, text string) {
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
		total += counts[k]
	}
	return total, strings.Join(parts, " ")
}

// Verdict returns "FAIL" when failed, else "PASS".
func Verdict(failed bool) string {
	if failed {
		return "FAIL"
	}
	return "PASS"
}

// CountTxs returns how many transactions the committed entries (in commit
// order) came from.
func CountTxs(entries []Entry) int {
	n := 0
	for i, e := range entries {
		if i == 0 || e.Seq != entries[i-1].Seq {
			n++
		}
	}
	return n
}
