package chaos

import (
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
	Payload string // Change: "schema.table:OP:row_id"
	Reason  string // Resync: why
	Sub     int    // Marker: index in Mailbox.Subs of the subscription it opens
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
	Allowed []string
}

// Report is the verdict on one mailbox.
type Report struct {
	Name      string
	Expected  int            // committed changes on the mailbox's tables
	Owed      int            // of those, committed while it was subscribed
	Delivered int            // changes it read
	Resyncs   map[string]int // Resyncs it read, by reason
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
	r := Report{Name: mb.Name, Expected: len(c.e), Owed: c.owedPrefix[len(c.e)], Resyncs: map[string]int{}}
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
func (mb Mailbox) allows(reason string) bool {
	return mb.Allowed == nil || slices.Contains(mb.Allowed, reason)
}

// gate is what was read since the last change: it says which stream
// entries the next change may skip.
type gate struct {
	resync  bool  // a Resync without a Clock: any entry
	forgive int64 // a Marker or a Resync with a Clock: entries committed before this clock
	told    bool  // a Resync of an allowed reason (for Report.Covered)
}

// resyncRead opens the gate for a Resync of an allowed reason.
func (g *gate) resyncRead(it Item) {
	if it.Clock == 0 {
		g.resync = true
		return
	}
	g.forgive = max(g.forgive, it.Clock)
}

// stream is one mailbox's view of the committed changes.
type stream struct {
	e          []Entry
	owed       []bool
	owedPrefix []int            // owedPrefix[i] = owed entries in e[:i]
	nextOwed   []int            // nextOwed[i] = first owed index >= i, or len(e)
	index      map[string][]int // payload -> ascending positions in e
}

func newStream(committed []Entry, mb Mailbox) *stream {
	var tables map[string]bool
	if mb.Tables != nil {
		tables = make(map[string]bool, len(mb.Tables))
		for _, t := range mb.Tables {
			tables[t] = true
		}
	}
	c := &stream{index: make(map[string][]int)}
	for _, e := range committed {
		if tables != nil && !tables[e.Table] {
			continue
		}
		owed := false
		for _, iv := range mb.Subs {
			if iv.contains(e.Clock) {
				owed = true
				break
			}
		}
		c.index[e.Payload] = append(c.index[e.Payload], len(c.e))
		c.e = append(c.e, e)
		c.owed = append(c.owed, owed)
	}
	n := len(c.e)
	c.owedPrefix = make([]int, n+1)
	for i, o := range c.owed {
		c.owedPrefix[i+1] = c.owedPrefix[i]
		if o {
			c.owedPrefix[i+1]++
		}
	}
	c.nextOwed = make([]int, n+1)
	c.nextOwed[n] = n
	for i := n - 1; i >= 0; i-- {
		c.nextOwed[i] = c.nextOwed[i+1]
		if c.owed[i] {
			c.nextOwed[i] = i
		}
	}
	return c
}

// skippable reports whether entry i may be missing before the next change.
func (c *stream) skippable(i int, g gate) bool {
	return !c.owed[i] || g.resync || c.e[i].Clock < g.forgive
}

// advance returns, ascending and without repeats, every position the
// stream can be at after reading payload from any position in pos.
func (c *stream) advance(pos []int, payload string, g gate) []int {
	occ := c.index[payload]
	if len(occ) == 0 {
		return nil
	}
	var out []int
	switch {
	case g.resync:
		// Anything may be skipped: every later occurrence will do.
		for _, j := range occ[lowerBound(occ, pos[0]):] {
			out = append(out, j+1)
		}
		return out
	case g.forgive == 0:
		// Only entries that are not owed may be skipped; the first owed
		// one may still be the match.
		for _, p := range pos {
			limit := c.nextOwed[p]
			for _, j := range occ[lowerBound(occ, p):] {
				if j > limit {
					break
				}
				out = append(out, j+1)
			}
		}
	default:
		for _, p := range pos {
			for j := p; j < len(c.e); j++ {
				if c.e[j].Payload == payload {
					out = append(out, j+1)
				}
				if !c.skippable(j, g) {
					break
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookahead is how many changes failures looks at.
const lookahead = 64

// failures counts the changes among the next lookahead ones of mb.Items
// from index from that do not fit, reading from pos with gate g. It guides
// the classification of a change that does not fit; it reports nothing.
func (c *stream) failures(pos []int, g gate, mb Mailbox, from int) int {
	n, seen := 0, 0
	for _, it := range mb.Items[min(from, len(mb.Items)):] {
		switch it.Kind {
		case Resync:
			if mb.allows(it.Reason) {
				g.resyncRead(it)
			}
		case Marker:
			if it.Sub >= 0 && it.Sub < len(mb.Subs) {
				g.forgive = max(g.forgive, mb.Subs[it.Sub].From)
			}
		case Change:
			if next := c.advance(pos, it.Payload, g); len(next) > 0 {
				pos = next
			} else {
				n++
			}
			g = gate{}
			if seen++; seen == lookahead {
				return n
			}
		}
	}
	return n
}

// cheapestGap finds the way to read payload from pos that skips the
// fewest entries that may not be skipped: from position p to entry j. lost
// is -1 when payload occurs nowhere at or after pos.
func (c *stream) cheapestGap(pos []int, payload string, g gate) (p, j, lost int) {
	lost = -1
	occ := c.index[payload]
	for _, q := range pos {
		k := lowerBound(occ, q)
		if k == len(occ) {
			continue
		}
		if n := c.unskippable(q, occ[k], g); lost < 0 || n < lost {
			p, j, lost = q, occ[k], n
		}
	}
	return p, j, lost
}

// unskippable counts the entries in e[from:to] that may not be skipped.
func (c *stream) unskippable(from, to int, g gate) int {
	if g.resync {
		return 0
	}
	if g.forgive == 0 {
		return c.owedPrefix[to] - c.owedPrefix[from]
	}
	n := 0
	for i := from; i < to; i++ {
		if !c.skippable(i, g) {
			n++
		}
	}
	return n
}

// firstBlocking returns the first entry of e[from:to] that may not be skipped.
func (c *stream) firstBlocking(from, to int, g gate) Entry {
	for i := from; i < to; i++ {
		if !c.skippable(i, g) {
			return c.e[i]
		}
	}
	return Entry{}
}

// lowerBound returns the index of the first element of sorted s >= x.
func lowerBound(s []int, x int) int {
	i, _ := slices.BinarySearch(s, x)
	return i
}

// recent formats up to n items read before index at.
func recent(items []Item, at, n int) string {
	var parts []string
	for i := max(0, at-n); i < at && i < len(items); i++ {
		switch it := items[i]; it.Kind {
		case Change:
			parts = append(parts, it.Payload)
		case Resync:
			parts = append(parts, "Resync("+it.Reason+")")
		case Marker:
			parts = append(parts, fmt.Sprintf("Marker(%d)", it.Sub))
		}
	}
	if len(parts) == 0 {
		return "(nothing)"
	}
	return strings.Join(parts, ", ")
}
