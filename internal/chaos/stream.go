package chaos

import "slices"

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
