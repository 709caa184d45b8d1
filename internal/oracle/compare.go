package oracle

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Options configure [Compare].
type Options struct {
	// Scope filters and renames the oracle's tables (see LoadScope).
	// Required.
	Scope *Scope
	// TypeNames maps a column type OID to format_type's name for it
	// (see TypeNames); when set, every column's type is checked against
	// the name test_decoding printed. Nil skips the check.
	TypeNames map[uint32]string
	// Messages compares transactional logical messages too (for a source
	// asked for them); otherwise the oracle's messages are left out.
	Messages bool
	// Latin1 says the database is LATIN1: a message's content, bytes in
	// the database's encoding, is converted to UTF-8 (the oracle's
	// session encoding) before it is compared.
	Latin1 bool
	// Seed is the workload's seed, printed in the report.
	Seed int64
	// Label names the comparison in the report ("pub_root", ...).
	Label string
}

// expected is one change the source must deliver, from the oracle.
type expected struct {
	rec    *Record
	txn    int // index of its transaction in the oracle's output
	op     string
	rel    Relation // as the source reports it
	mapped bool     // rel differs from the table test_decoding named
	// lastLSN is the position of the transaction's last change and
	// commitEnd its COMMIT row's (the end of the commit record): the
	// source's LSN, the commit record's start, lies in between.
	lastLSN, commitEnd uint64
	// cascade and restart are a TRUNCATE's flags.
	cascade, restart bool
}

// expectations turns the oracle's records into the changes the source
// must deliver, in order.
func expectations(recs []Record, o Options) []expected {
	var out, cur []expected
	prepared := map[string][]expected{}
	txn := 0
	inTxn := false
	closeTxn := func(evs []expected, end uint64) {
		if len(evs) == 0 {
			return
		}
		// A message row's position is not its record's (it may be the
		// commit's): only changes bound the commit record.
		var last uint64
		for _, e := range evs {
			if e.op != "MESSAGE" {
				last = max(last, e.rec.LSN)
			}
		}
		for i := range evs {
			evs[i].txn, evs[i].lastLSN, evs[i].commitEnd = txn, last, end
		}
		out = append(out, evs...)
		txn++
	}
	// With skip-empty-xacts, test_decoding prints BEGIN with a
	// transaction's first change, so the messages before it come before
	// BEGIN, and those of a transaction that changed no table come with
	// neither BEGIN nor COMMIT: consecutive ones of one xid are one
	// transaction (whose commit position is then unknown), or the start of
	// the one a BEGIN of their xid opens.
	var orphans []expected
	flushOrphans := func() {
		closeTxn(orphans, math.MaxUint64)
		orphans = nil
	}
	for i := range recs {
		r := &recs[i]
		c := &r.Change
		if c.Kind == Begin && len(orphans) > 0 && orphans[0].rec.Xid == r.Xid {
			cur, orphans, inTxn = orphans, nil, true
			continue
		}
		if c.Kind != Message || inTxn || len(orphans) > 0 && orphans[0].rec.Xid != r.Xid {
			flushOrphans()
		}
		switch c.Kind {
		case Begin:
			cur, inTxn = nil, true
		case Commit:
			closeTxn(cur, r.LSN)
			cur, inTxn = nil, false
		case Prepare:
			prepared[c.GID] = cur
			cur, inTxn = nil, false
		case CommitPrepared:
			closeTxn(prepared[c.GID], r.LSN)
			delete(prepared, c.GID)
		case RollbackPrepared:
			delete(prepared, c.GID)
		case Insert, Update, Delete:
			if to, ok := o.Scope.RowsAs(c.Rel); ok {
				cur = append(cur, expected{rec: r, op: c.Kind.String(), rel: to, mapped: to != c.Rel})
			}
		case Truncate:
			for _, rel := range c.Truncated {
				if o.Scope.Truncates(rel) {
					cur = append(cur, expected{rec: r, op: "TRUNCATE", rel: rel, cascade: c.Cascade, restart: c.RestartSeqs})
				}
			}
		case Message:
			if !o.Messages || !c.Transactional {
				break
			}
			e := expected{rec: r, op: "MESSAGE"}
			if inTxn {
				cur = append(cur, e)
			} else {
				orphans = append(orphans, e)
			}
		}
	}
	flushOrphans()
	return out
}

// Compare checks events (what a mailbox received, in order; a leading
// Resync with pubsub.ReasonStart is allowed) against the oracle's
// records: the same changes in the same order, one commit LSN per
// transaction and increasing between them, Seq increasing inside one,
// TRUNCATE's flags, and, column by column, the state, the type and the
// text of every row. See [Report] for what it returns.
func Compare(recs []Record, events []pubsub.Event, o Options) *Report {
	rep := &Report{Seed: o.Seed, Label: o.Label, Columns: map[string]int{}}
	if len(events) > 0 && events[0].Kind == pubsub.Resync && events[0].Reason == pubsub.ReasonStart {
		events = events[1:]
	}
	want := expectations(recs, o)
	rep.Expected, rep.Delivered = len(want), len(events)
	if len(want) > 0 {
		rep.Transactions = want[len(want)-1].txn + 1
	}
	var prevLSN, prevSeq uint64
	prevTxn := -1
	n := min(len(want), len(events))
	for i := 0; i < n; i++ {
		w, ev := &want[i], &events[i]
		m := Mismatch{Index: i, Xid: w.rec.Xid, Table: w.rel, Op: w.op, Line: w.rec.Line}
		if ev.Kind == pubsub.Resync {
			m.Kind, m.Got = "resync", string(ev.Reason)
			rep.add(m)
			rep.stopped(i, want, events)
			return rep
		}
		if w.op == "MESSAGE" {
			c := &w.rec.Change
			content := ev.Content
			if o.Latin1 {
				content = latin1ToUTF8(content)
			}
			if ev.Kind != pubsub.Message || ev.Prefix != c.Prefix || !bytes.Equal(content, c.Content) {
				m.Kind, m.Got, m.Want = "sequence", describe(ev), fmt.Sprintf("message %q %q", c.Prefix, c.Content)
				rep.add(m)
				rep.stopped(i+1, want, events)
				return rep
			}
		} else if ev.Kind != pubsub.TableChanged || string(ev.Operation) != w.op {
			m.Kind, m.Got, m.Want = "sequence", describe(ev), w.op+" "+w.rel.String()
			rep.add(m)
			rep.stopped(i+1, want, events)
			return rep
		} else if ev.Schema != w.rel.Schema || ev.Table != w.rel.Table {
			m.Kind, m.Got, m.Want = "table", ev.Schema+"."+ev.Table, w.rel.String()
			rep.add(m)
		}
		evLSN := uint64(ev.LSN)
		// Positions: one LSN per transaction, between its last change and
		// the end of its commit record; Seq increasing inside it.
		switch {
		case w.txn == prevTxn && evLSN != prevLSN:
			rep.add(with(m, "lsn", fmt.Sprintf("%X, another LSN inside one transaction", evLSN), fmt.Sprintf("%X", prevLSN)))
		case w.txn != prevTxn && evLSN <= prevLSN:
			rep.add(with(m, "lsn", fmt.Sprintf("%X, not after the previous transaction's", evLSN), fmt.Sprintf("> %X", prevLSN)))
		}
		if evLSN <= w.lastLSN || evLSN >= w.commitEnd {
			rep.add(with(m, "lsn", fmt.Sprintf("%X", evLSN), fmt.Sprintf("in (%X, %X): the commit record", w.lastLSN, w.commitEnd)))
		}
		if ev.Seq == 0 || w.txn == prevTxn && ev.Seq <= prevSeq {
			rep.add(with(m, "seq", fmt.Sprint(ev.Seq), fmt.Sprintf("> %d", prevSeq*b2u(w.txn == prevTxn))))
		}
		prevTxn, prevLSN, prevSeq = w.txn, evLSN, ev.Seq
		c := &w.rec.Change
		switch w.op {
		case "TRUNCATE":
			if ev.Cascade != w.cascade || ev.RestartIdentity != w.restart {
				rep.add(with(m, "truncate-flags", fmt.Sprintf("cascade=%v restart=%v", ev.Cascade, ev.RestartIdentity),
					fmt.Sprintf("cascade=%v restart=%v", w.cascade, w.restart)))
			}
			if ev.New != nil || ev.Old != nil {
				rep.add(with(m, "row", "a row", "no row"))
			}
		case "INSERT", "UPDATE", "DELETE":
			if c.NoTupleData {
				break
			}
			if w.op == "DELETE" {
				if ev.New != nil {
					rep.add(with(m, "row", "a new row", "none"))
				}
			} else {
				rep.compareRow(m, "new", ev.New, c.New, false, !w.mapped, o.TypeNames)
			}
			switch {
			case c.HasOld:
				rep.compareRow(m, "old", ev.Old, c.Old, true, false, o.TypeNames)
			case ev.Old != nil && hasPresent(ev.Old):
				rep.add(with(m, "old", "an old row", "none"))
			}
		}
		rep.Compared++
	}
	rep.stopped(n, want, events)
	return rep
}

// latin1ToUTF8 converts LATIN1 bytes (each byte its code point) to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func with(m Mismatch, kind, got, want string) Mismatch {
	m.Kind, m.Got, m.Want = kind, got, want
	return m
}

func hasPresent(r *pubsub.Row) bool {
	for i := range r.Len() {
		if st, _ := r.At(i); st == pubsub.Present || st == pubsub.UnchangedTOAST {
			return true
		}
	}
	return false
}

// describe names an event for a report.
func describe(ev *pubsub.Event) string {
	switch ev.Kind {
	case pubsub.Message:
		return fmt.Sprintf("message %q %q", ev.Prefix, ev.Content)
	case pubsub.Resync:
		return ev.String()
	}
	return string(ev.Operation) + " " + ev.Schema + "." + ev.Table
}

// stopped records what was left on either side from position i on.
func (rep *Report) stopped(i int, want []expected, events []pubsub.Event) {
	for j := i; j < len(want); j++ {
		w := &want[j]
		rep.add(Mismatch{Kind: "missing", Index: j, Xid: w.rec.Xid, Table: w.rel, Op: w.op, Line: w.rec.Line})
	}
	for j := i; j < len(events); j++ {
		ev := &events[j]
		rep.add(Mismatch{Kind: "extra", Index: j, Table: Relation{ev.Schema, ev.Table}, Op: string(ev.Operation), Got: describe(ev)})
	}
}

// compareRow compares a delivered row with the oracle's tuple. key: an
// old key, from which test_decoding leaves out NULL columns and pgoutput
// columns outside the replica identity. order: the column order must be
// the oracle's too (not for rows reported as a partition root's, whose
// column order may differ from the partition's).
func (rep *Report) compareRow(m Mismatch, which string, got *pubsub.Row, want []Column, key, order bool, types map[uint32]string) {
	m.Which = which
	if got == nil {
		rep.add(with(m, "row", "no "+which+" row", fmt.Sprintf("%d columns", len(want))))
		return
	}
	pos := map[string]int{}
	layout := got.Layout()
	for i := range layout.Len() {
		pos[layout.Column(i).Name] = i
	}
	seen := map[string]bool{}
	for k, c := range want {
		m := m
		m.Column, m.Type = c.Name, c.Type
		seen[c.Name] = true
		rep.Columns[which+" "+c.State.String()]++
		i, ok := pos[c.Name]
		if !ok {
			rep.add(with(m, "column-missing", "absent from the layout", c.State.String()))
			continue
		}
		if order && i != k && !key {
			rep.add(with(m, "column-order", fmt.Sprint(i+1), fmt.Sprint(k+1)))
		}
		if types != nil {
			if name, ok := types[layout.Column(i).OID]; !ok || name != c.Type {
				rep.add(with(m, "type", fmt.Sprintf("%s (oid %d)", name, layout.Column(i).OID), c.Type))
			}
		}
		st, text := got.At(i)
		switch {
		case st != c.State:
			g, w := st.String(), c.State.String()
			if st == pubsub.Present {
				g += " " + quote(text)
			}
			if c.State == pubsub.Present {
				w += " " + quote(c.Text)
			}
			rep.add(with(m, "state", g, w))
		case st == pubsub.Present && text != c.Text:
			rep.add(with(m, "text", text, c.Text))
		}
	}
	for i := range layout.Len() {
		name := layout.Column(i).Name
		if seen[name] {
			continue
		}
		st, text := got.At(i)
		m := m
		m.Column = name
		switch {
		case !key:
			rep.add(with(m, "column-extra", st.String(), "not in the oracle's row"))
		case st == pubsub.Present || st == pubsub.UnchangedTOAST:
			rep.add(with(m, "old-extra", st.String()+" "+quote(text), "null or not part of the key"))
		}
	}
}

// TypeNames asks the server for format_type's name of every column type
// in the events' rows, for Options.TypeNames.
func TypeNames(ctx context.Context, conn *pgx.Conn, events []pubsub.Event) (map[uint32]string, error) {
	seen := map[uint32]bool{}
	var oids []uint32
	for i := range events {
		for _, r := range []*pubsub.Row{events[i].New, events[i].Old} {
			l := r.Layout()
			if l == nil {
				continue
			}
			for j := range l.Len() {
				if oid := l.Column(j).OID; !seen[oid] {
					seen[oid] = true
					oids = append(oids, oid)
				}
			}
		}
	}
	names := make(map[uint32]string, len(oids))
	rows, err := conn.Query(ctx, `SELECT o, format_type(o, NULL) FROM unnest($1::oid[]) AS o`, oids)
	if err != nil {
		return nil, fmt.Errorf("oracle: type names: %w", err)
	}
	for rows.Next() {
		var oid uint32
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("oracle: type names: %w", err)
		}
		names[oid] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("oracle: type names: %w", err)
	}
	return names, nil
}
