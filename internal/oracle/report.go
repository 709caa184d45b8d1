package oracle

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mismatch is one difference between the oracle and the source.
type Mismatch struct {
	// Kind says what differs:
	//   - sequence: another change than the oracle's at this position
	//     (the comparison stops there); missing, extra: changes left
	//     over on one side; resync: a Resync in the middle of the stream;
	//   - table: the change's table is named differently;
	//   - lsn, seq: the event's position (see Compare);
	//   - truncate-flags: TRUNCATE's CASCADE / RESTART IDENTITY;
	//   - row: a row present on one side only;
	//   - column-missing, column-extra, column-order: the row's columns;
	//   - type: the column's type OID does not name the oracle's type;
	//   - state: null / unchanged-toast / present differ;
	//   - text: both present, different texts;
	//   - old-extra: the source's old key holds a value the oracle's does not.
	Kind string
	// Index is the change's position in the compared sequence.
	Index int
	// Xid is the transaction's id, from the oracle.
	Xid   uint32
	Table Relation
	Op    string
	// Which is "new" or "old" for row and column mismatches.
	Which string
	// Column and Type are the column's name and type (the oracle's).
	Column, Type string
	// Got is what the source delivered, Want what the oracle printed.
	Got, Want string
	// Line is the oracle's raw line.
	Line string
}

// Report is the result of [Compare].
type Report struct {
	Seed  int64
	Label string
	// Expected changes (the oracle's, filtered to the publication),
	// Delivered events (after the start Resync), Compared pairs, and the
	// number of oracle transactions.
	Expected, Delivered, Compared, Transactions int
	// Columns counts the oracle's columns compared, by row and state:
	// "new present", "new unchanged-toast", "old null", ...
	Columns    map[string]int
	Mismatches []Mismatch
}

func (r *Report) add(m Mismatch) { r.Mismatches = append(r.Mismatches, m) }

// OK reports whether nothing differs.
func (r *Report) OK() bool { return len(r.Mismatches) == 0 }

// Counts returns the number of mismatches per kind.
func (r *Report) Counts() map[string]int {
	c := map[string]int{}
	for _, m := range r.Mismatches {
		c[m.Kind]++
	}
	return c
}

// ByType returns the number of state and text mismatches per column type.
func (r *Report) ByType() map[string]int {
	c := map[string]int{}
	for _, m := range r.Mismatches {
		if m.Kind == "state" || m.Kind == "text" {
			c[m.Type]++
		}
	}
	return c
}

// maxDetails bounds the mismatches String lists one by one.
const maxDetails = 40

// String summarises the report: the seed, the figures, the counts per
// kind and per type, and the first mismatches in full.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oracle %s: seed %d: %d transactions, %d changes expected, %d delivered, %d compared, %d mismatches\n",
		r.Label, r.Seed, r.Transactions, r.Expected, r.Delivered, r.Compared, len(r.Mismatches))
	b.WriteString("  columns compared: " + countLine(r.Columns) + "\n")
	if r.OK() {
		return b.String()
	}
	b.WriteString("  by kind: " + countLine(r.Counts()) + "\n")
	if bt := r.ByType(); len(bt) > 0 {
		b.WriteString("  by type: " + countLine(bt) + "\n")
	}
	// The first mismatch of each (kind, type) pair first, so that a
	// flood of one kind does not hide the others; then the rest in order.
	shown := map[int]bool{}
	firsts := map[string]bool{}
	var order []int
	for i, m := range r.Mismatches {
		if k := m.Kind + "/" + m.Type; !firsts[k] {
			firsts[k] = true
			order = append(order, i)
			shown[i] = true
		}
	}
	for i := range r.Mismatches {
		if !shown[i] {
			order = append(order, i)
		}
	}
	for n, i := range order {
		if n == maxDetails {
			fmt.Fprintf(&b, "  ... and %d more\n", len(order)-n)
			break
		}
		b.WriteString("  " + r.Mismatches[i].String() + "\n")
	}
	return b.String()
}

func countLine(c map[string]int) string {
	keys := slices.Sorted(maps.Keys(c))
	slices.SortStableFunc(keys, func(a, b string) int { return c[b] - c[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(c[k])
	}
	return strings.Join(parts, " ")
}

// String describes one mismatch on one line.
func (m Mismatch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s", m.Index, m.Kind)
	if m.Op != "" || m.Table != (Relation{}) {
		fmt.Fprintf(&b, " %s %s", m.Op, short(m.Table.String()))
	}
	if m.Xid != 0 {
		fmt.Fprintf(&b, " (xid %d)", m.Xid)
	}
	if m.Column != "" {
		fmt.Fprintf(&b, " %s column %q", m.Which, m.Column)
		if m.Type != "" {
			fmt.Fprintf(&b, " [%s]", m.Type)
		}
	} else if m.Which != "" {
		b.WriteString(" " + m.Which)
	}
	if m.Kind == "text" {
		b.WriteString(": " + textDiff(m.Got, m.Want))
	} else if m.Got != "" || m.Want != "" {
		fmt.Fprintf(&b, ": got %s, want %s", short(m.Got), short(m.Want))
	}
	if m.Kind == "sequence" || m.Kind == "missing" {
		fmt.Fprintf(&b, "\n      oracle: %s", short(m.Line))
	}
	return b.String()
}

// textDiff shows two texts, shortened around their first difference.
func textDiff(got, want string) string {
	if len(got) <= 120 && len(want) <= 120 {
		return fmt.Sprintf("got %s, want %s", quote(got), quote(want))
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-30)
	cut := func(s string) string { return s[min(from, len(s)):min(len(s), i+60)] }
	return fmt.Sprintf("%d vs %d bytes, first difference at byte %d: got ...%s..., want ...%s...",
		len(got), len(want), i, quote(cut(got)), quote(cut(want)))
}

// quote prints a text with Go escapes, so invalid UTF-8 shows.
func quote(s string) string { return strconv.Quote(s) }

// short cuts a long text and shows invalid UTF-8 (a LATIN1 name, say)
// as Go escapes.
func short(s string) string {
	n := len(s)
	if n > 300 {
		s = s[:300]
	}
	if !utf8.ValidString(s) {
		s = quote(s)
	}
	if n > 300 {
		s += fmt.Sprintf("... (%d bytes)", n)
	}
	return s
}
