package chaos

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"fmt"
	"slices"
	"strings"
)

// Entry is one notification that committed work owes its listeners.
type Entry struct {
	// Seq is the commit sequence number of the transaction: commits, and
	// so the notifications PostgreSQL delivers, are in Seq order.
	Seq int64
	// Clock is the logical time (see Interval) taken before the
	// transaction's COMMIT was sent, so the commit happened after it.
	Clock int64
	// Table is "schema.table".
	Table string
	// Payload is "schema.table:OP:row_id", as the trigger sends it.
	Payload string
}

// Fold returns entries without the payloads that repeat an earlier one of
// the same transaction (same Seq): PostgreSQL folds identical
// notifications of one transaction into the first. entries must be in
// commit order; the result shares no memory with it.
func Fold(entries []Entry) []Entry {
	out := make([]Entry, 0, len(entries))
	var seen map[string]struct{}
	for i, e := range entries {
		if i == 0 || e.Seq != entries[i-1].Seq {
			seen = make(map[string]struct{})
		}
		if _, dup := seen[e.Payload]; dup {
			continue
		}
		seen[e.Payload] = struct{}{}
		out = append(out, e)
	}
	return out
}

// Interval is a period during which a mailbox held its subscriptions, in
// logical time: one atomic counter that the soak's writers and
// subscribers increment, so that comparing two values orders the events
// that took them. From is taken after the last Subscribe returned, To
// before the first Unsubscribe was called; To == 0 means "still
// subscribed at the end".
type Interval struct{ From, To int64 }

// contains reports whether a change whose commit was sent at clock is owed
// under iv: it committed after the subscription was in place and before
// the subscriber started to leave.
func (iv Interval) contains(clock int64) bool {
	return iv.From < clock && (iv.To == 0 || clock < iv.To)
}

// ItemKind tells what a consumer read.
type ItemKind uint8

const (
	// Change is a TableChanged event.
	Change ItemKind = iota + 1
	// Resync is a Resync event.
	Resync
	// Marker is the soak's own event, published on a private topic of
	// the mailbox just before it subscribes again: everything after it was
	// published after the marker.
	Marker
)

// Item is one event a consumer read, in the order it read them.
type Item struct {
	Kind    ItemKind
	Payload string        // Change: "schema.table:OP:row_id"
	Reason  pubsub.Reason // Resync: why
	Sub     int           // Marker: index in Mailbox.Subs of the subscription it opens
	// Clock, for a Resync, is the logical time (see Interval) taken when
	// the consumer read it, or 0. When set, the Resync covers only
	// changes committed before it: whatever a Resync reports (a full
	// mailbox, a lost slot, a reconnection) happened before it was read,
	// so a change whose COMMIT was sent after that is owed all the same.
	Clock int64
}

// Mailbox is what the checker needs to know about one mailbox.
type Mailbox struct {
	Name string
	// Tables are the "schema.table" names whose changes the mailbox
	// receives; nil means every table (pubsub.TopicAll).
	Tables []string
	// Subs are the mailbox's subscription periods, in order.
	Subs []Interval
	// Items is everything its consumer read, in order.
	Items []Item
	// Allowed, when not nil, lists the Resync reasons the mailbox may
	// read: a Resync of any other reason covers nothing and counts in
	// Report.Unexpected. Nil allows every reason (the Listener's soak
	// judges reasons itself); the WAL source allows only overflow, start
	// and slot, so a Source that reconnects with a Resync fails.
	Allowed []pubsub.Reason
}

// Report is the verdict on one mailbox.
type Report struct {
	Name      string
	Expected  int                   // committed changes on the mailbox's tables
	Owed      int                   // of those, committed while it was subscribed
	Delivered int                   // changes it read
	Resyncs   map[pubsub.Reason]int // Resyncs it read, by reason
	// Covered counts owed changes it did not receive but was told about:
	// a Resync came between the change before and the change after. It is
	// exact when payloads are unique and a lower bound otherwise.
	Covered int
	// Lost counts owed changes missing without a Resync to cover them:
	// silent losses. The promise is that this is always zero.
	Lost int
	// Disordered counts changes read twice or after a later change.
	Disordered int
	// Phantoms counts changes read that were never committed.
	Phantoms int
	// Unexpected counts Resyncs of a reason not in Mailbox.Allowed.
	Unexpected int
	// Problems describes the first few failures.
	Problems []string
}

// OK reports whether the mailbox saw no loss, disorder, phantom or
// Resync of a reason not allowed.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Disordered == 0 && r.Phantoms == 0 && r.Unexpected == 0
}

// maxProblems bounds Report.Problems.
const maxProblems = 5

// Check compares what one mailbox read with what was committed.
//
// committed must be in commit order and folded (see Fold). The mailbox's
// stream is committed restricted to its tables; a change in it is owed when
// it committed inside one of mb.Subs. The rules:
//
//   - The changes read must appear in the stream in the same order, each
//     at most once (else Disordered), and must exist in it (else Phantoms).
//   - Between two consecutive changes read, every owed change of the
//     stream lying between them must have been read too, unless a Resync
//     was read between the two (the mailbox was told), or a Marker was,
//     for changes committed before that Marker's subscription began (the
//     mailbox had left and the change may have been published while it
//     was away). The same holds before the first change and after the
//     last one. Anything else counts in Lost.
//
// Payloads need not be unique: per-statement triggers send the same
// "schema.table:OP:" for every statement. Check then accepts the reading
// if any assignment of reads to stream positions satisfies the rules (it
// tracks every candidate position), so ambiguity never makes it report a
// failure that is not there.
func Check(committed []Entry, mb Mailbox) Report {
	c := newStream(committed, mb)
	r := Report{Name: mb.Name, Expected: len(c.e), Owed: c.owedPrefix[len(c.e)], Resyncs: map[pubsub.Reason]int{}}
	problem := func(at int, format string, args ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: item %d: %s; read before it: %s",
				mb.Name, at, fmt.Sprintf(format, args...), recent(mb.Items, at, 4)))
		}
	}

	pos := []int{0} // candidate counts of stream entries consumed so far
	var g gate
	for at, it := range mb.Items {
		switch it.Kind {
		case Resync:
			r.Resyncs[it.Reason]++
			if !mb.allows(it.Reason) {
				r.Unexpected++
				problem(at, "a Resync for reason %q, which this source may not send", it.Reason)
				break
			}
			g.told = true
			g.resyncRead(it)
		case Marker:
			if it.Sub >= 0 && it.Sub < len(mb.Subs) {
				g.forgive = max(g.forgive, mb.Subs[it.Sub].From)
			}
		case Change:
			r.Delivered++
			next := c.advance(pos, it.Payload, g)
			switch {
			case len(next) > 0:
				if g.told {
					r.Covered += c.owedPrefix[next[0]-1] - c.owedPrefix[min(pos[0], next[0]-1)]
				}
				pos = next
			case len(c.index[it.Payload]) == 0:
				r.Phantoms++
				problem(at, "%s was never committed", it.Payload)
			default:
				// The change does not fit. Either it was read out of order
				// (or twice) and the stream stays where it is, or owed
				// changes before a later copy of it were lost: take the
				// reading that explains what comes next with fewer failures.
				p, j, lost := c.cheapestGap(pos, it.Payload, g)
				stay := 1 + c.failures(pos, gate{}, mb, at+1)
				jump := len(mb.Items) // no later copy: never jump
				if lost >= 0 {
					jump = lost + c.failures([]int{j + 1}, gate{}, mb, at+1)
				}
				if stay < jump {
					r.Disordered++
					problem(at, "%s read again or after a later change", it.Payload)
					break
				}
				r.Lost += lost
				b := c.firstBlocking(p, j, g)
				problem(at, "%s read, but %d owed change(s) before it were lost with no Resync to cover them, the first %s (commit %d)",
					it.Payload, lost, b.Payload, b.Seq)
				pos = []int{j + 1}
			}
			g = gate{}
		}
	}
	if !g.resync {
		p := pos[len(pos)-1]
		if lost := c.unskippable(p, len(c.e), g); lost > 0 {
			r.Lost += lost
			problem(len(mb.Items), "%d owed change(s) never read and no Resync after the last change read, the first %s (commit %d)",
				lost, c.firstBlocking(p, len(c.e), g).Payload, c.firstBlocking(p, len(c.e), g).Seq)
		}
	}
	return r
}

// allows reports whether a Resync for reason may cover a gap.
func (mb Mailbox) allows(reason pubsub.Reason) bool {
	return mb.Allowed == nil || slices.Contains(mb.Allowed, reason)
}

// recent formats up to n items read before index at.
func recent(items []Item, at, n int) string {
	var parts []string
	for i := max(0, at-n); i < at && i < len(items); i++ {
		switch it := items[i]; it.Kind {
		case Change:
			parts = append(parts, it.Payload)
		case Resync:
			parts = append(parts, "Resync("+string(it.Reason)+")")
		case Marker:
			parts = append(parts, fmt.Sprintf("Marker(%d)", it.Sub))
		}
	}
	if len(parts) == 0 {
		return "(nothing)"
	}
	return strings.Join(parts, ", ")
}
