package cluster

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// bodyV3 is the format byte of format 3, which the leader writes: one
// Resync, one logical message, or a batch of changes of one transaction
// to one table (docs/cluster.md describes it byte by byte).
const bodyV3 byte = 0x04

// Flags of a format 3 body: the transaction's (commit time present) and,
// per change, which rows follow and the TRUNCATE options.
const (
	v3CommitTime     byte = 0x01
	v3TxnEnd         byte = 0x02 // the body ends its transaction (see endsTxn)
	v3TxnFlagsKnown       = v3CommitTime | v3TxnEnd
	v3New            byte = 0x02
	v3Old            byte = 0x04
	v3Cascade        byte = 0x08
	v3Restart        byte = 0x10
	v3ChangeFlagsKnw      = v3New | v3Old | v3Cascade | v3Restart
)

// batchable reports whether next may follow prev in one format 3 body:
// both changes of one transaction (commit LSN, xid and commit time) to
// one table, Seq not going backwards. NOTIFY changes (LSN 0) of one
// table batch with each other.
func batchable(prev, next *pubsub.Event) bool {
	return isChange(prev) && isChange(next) && prev.LSN == next.LSN && prev.Xid == next.Xid &&
		prev.CommitTime.Equal(next.CommitTime) &&
		prev.Schema == next.Schema && prev.Table == next.Table && next.Seq >= prev.Seq
}

func isChange(ev *pubsub.Event) bool { return ev.Kind == pubsub.TableChanged || ev.Kind == 0 }

// Transaction ends. The relay's mailbox takes the WAL source's TopicAll
// mark (pubsub.Committed without a table) after each transaction's last
// change; gather puts it at the end of that change's body, whose flag
// v3TxnEnd it becomes, or, when that body went already, in a body of its
// own: no change, the flag, the transaction's LSN, Xid and commit time,
// on commitSubject. A follower decodes the flag as such a mark after the
// body's changes and makes the marks of the transaction from it.

// endsTxn reports whether mark is the end mark of prev's transaction.
func endsTxn(prev, mark *pubsub.Event) bool {
	return isChange(prev) && mark.Kind == pubsub.Committed && mark.Table == "" && mark.LSN == prev.LSN && prev.LSN != 0
}

// commitSubject returns <prefix>._commit, where a transaction's end goes
// when it is not in a body of changes. Like <prefix>._resync it has a
// token less than a change subject: no table collides with it.
func commitSubject(prefix string) string { return prefix + "._commit" }

// countChanges returns how many of evs are not marks.
func countChanges(evs []pubsub.Event) int {
	n := len(evs)
	for i := range evs {
		if evs[i].Kind == pubsub.Committed {
			n--
		}
	}
	return n
}

// headerSize is an upper bound of the bytes a format 3 body of ev's
// transaction and table takes before its changes.
func headerSize(ev *pubsub.Event) int {
	n := 3 + 2*binary.MaxVarintLen32 + len(ev.Schema) + len(ev.Table) + 2*binary.MaxVarintLen64 +
		binary.MaxVarintLen64 // count
	if !ev.CommitTime.IsZero() {
		n += binary.MaxVarintLen64 + binary.MaxVarintLen32
	}
	if ev.Kind == pubsub.Message {
		n += 2*binary.MaxVarintLen32 + len(ev.Prefix) + len(ev.Content)
	}
	return n
}

// changeSize is an upper bound of the bytes ev takes in a format 3 body
// after its header (each row counted with its layout in full).
func (e *encoder) changeSize(ev *pubsub.Event) int {
	n := 1 + 2*binary.MaxVarintLen32 + len(ev.Operation) + len(ev.RowID) + binary.MaxVarintLen64
	if ev.New != nil {
		n += e.rowSize(ev.New, false)
	}
	if ev.Old != nil {
		n += e.rowSize(ev.Old, false)
	}
	return n
}

// encodeBatch returns the subject and body of evs in format 3:
//
//	0x04, kind (pubsub.Kind as a byte), then
//	Resync:               reason (string)
//	TableChanged/Message: flags, schema, table (strings), LSN, Xid
//	                      (uvarints), [commit time: Unix seconds (varint),
//	                      nanoseconds (uvarint)], Message only: prefix
//	                      (string), content (bytes); the change count n
//	                      (uvarint), then n times: flags, operation, row id
//	                      (strings), Seq less the previous change's Seq (0
//	                      for the first) (uvarint), [new row], [old row]
//
// A row is written as in format 2, except that an empty layout means
// "the layout of the row written last in this body". evs is one event,
// or changes of which each is batchable after the one before; a Resync
// or a message is alone. A zero Kind is written as TableChanged.
func (e *encoder) encodeBatch(prefix string, evs []pubsub.Event) (subject string, body []byte, err error) {
	if len(evs) == 0 {
		return "", nil, fmt.Errorf("cluster: encode: no events")
	}
	ev := &evs[0]
	switch ev.Kind {
	case pubsub.Resync:
		if len(evs) > 1 {
			return "", nil, fmt.Errorf("cluster: encode: a Resync in a batch")
		}
		body = make([]byte, 0, 2+binary.MaxVarintLen32+len(ev.Reason))
		body = append(body, bodyV3, byte(pubsub.Resync))
		return resyncSubject(prefix), appendString(body, string(ev.Reason)), nil
	case pubsub.TableChanged, 0:
		subject = changeSubject(prefix, ev.Schema, ev.Table)
	case pubsub.Message:
		if len(evs) > 1 {
			return "", nil, fmt.Errorf("cluster: encode: a message in a batch")
		}
		subject = messageSubject(prefix, ev.Prefix)
	case pubsub.Committed:
		if len(evs) > 1 || ev.Table != "" || ev.LSN == 0 {
			return "", nil, fmt.Errorf("cluster: encode: %v is not a transaction's end alone", *ev)
		}
		subject = commitSubject(prefix)
	default:
		return "", nil, fmt.Errorf("cluster: encode %v: unknown kind %v", ev, ev.Kind)
	}
	var flags byte
	if k := len(evs) - 1; evs[k].Kind == pubsub.Committed {
		if k > 0 && !endsTxn(&evs[k-1], &evs[k]) {
			return "", nil, fmt.Errorf("cluster: encode: %v does not end the transaction of %v", evs[k], evs[k-1])
		}
		flags |= v3TxnEnd
		evs = evs[:k]
	}
	n := headerSize(ev)
	for i := range evs {
		if i > 0 && !batchable(&evs[i-1], &evs[i]) {
			return "", nil, fmt.Errorf("cluster: encode: %v does not batch with %v", evs[i], evs[i-1])
		}
		n += e.changeSize(&evs[i])
	}
	kind := ev.Kind
	if kind == 0 || kind == pubsub.Committed {
		kind = pubsub.TableChanged
	}
	if !ev.CommitTime.IsZero() {
		flags |= v3CommitTime
	}
	body = make([]byte, 0, n)
	body = append(body, bodyV3, byte(kind), flags)
	body = appendString(body, ev.Schema)
	body = appendString(body, ev.Table)
	body = binary.AppendUvarint(body, uint64(ev.LSN))
	body = binary.AppendUvarint(body, uint64(ev.Xid))
	if flags&v3CommitTime != 0 {
		body = binary.AppendVarint(body, ev.CommitTime.Unix())
		body = binary.AppendUvarint(body, uint64(ev.CommitTime.Nanosecond()))
	}
	if kind == pubsub.Message {
		body = appendString(body, ev.Prefix)
		body = appendBytes(body, ev.Content)
	}
	body = binary.AppendUvarint(body, uint64(len(evs)))
	var last *pubsub.RowLayout // the layout of the row written last
	var seq uint64
	for i := range evs {
		c := &evs[i]
		var cf byte
		if c.New != nil {
			cf |= v3New
		}
		if c.Old != nil {
			cf |= v3Old
		}
		if c.Cascade {
			cf |= v3Cascade
		}
		if c.RestartIdentity {
			cf |= v3Restart
		}
		body = append(body, cf)
		body = appendString(body, string(c.Operation))
		body = appendString(body, c.RowID)
		body = binary.AppendUvarint(body, c.Seq-seq)
		seq = c.Seq
		if c.New != nil {
			body = e.appendRow(body, c.New, c.New.Layout() == last)
			last = c.New.Layout()
		}
		if c.Old != nil {
			body = e.appendRow(body, c.Old, c.Old.Layout() == last)
			last = c.Old.Layout()
		}
	}
	return subject, body, nil
}

// v3 parses a format 3 body after its format byte, appending its events
// to dst.
func (d *decoder) v3(dst []pubsub.Event, b []byte) ([]pubsub.Event, error) {
	if len(b) == 0 {
		return dst, fmt.Errorf("%w: truncated", errBadMessage)
	}
	kind := pubsub.Kind(b[0])
	if kind == pubsub.Resync {
		r := reader{b: b[1:]}
		reason := pubsub.Reason(r.bytes())
		if err := r.end(); err != nil {
			return dst, err
		}
		return append(dst, pubsub.Event{Kind: pubsub.Resync, Reason: reason}), nil
	}
	if kind != pubsub.TableChanged && kind != pubsub.Message {
		return dst, fmt.Errorf("%w: unknown kind %d", errBadMessage, b[0])
	}
	if len(b) < 2 {
		return dst, fmt.Errorf("%w: truncated", errBadMessage)
	}
	flags := b[1]
	if flags&^v3TxnFlagsKnown != 0 {
		return dst, fmt.Errorf("%w: unknown flags %#x", errBadMessage, flags)
	}
	r := reader{b: b[2:]}
	tpl := pubsub.Event{Kind: kind}
	tpl.Schema = intern(&d.schema, r.bytes())
	tpl.Table = intern(&d.table, r.bytes())
	tpl.LSN = pubsub.LSN(r.uvarint())
	xid := r.uvarint()
	if xid > math.MaxUint32 {
		r.fail()
	}
	tpl.Xid = uint32(xid)
	if flags&v3CommitTime != 0 {
		tpl.CommitTime = r.time()
	}
	if kind == pubsub.Message {
		tpl.Prefix = intern(&d.prefix, r.bytes())
		if c := r.bytes(); len(c) > 0 {
			tpl.Content = append([]byte(nil), c...)
		}
	}
	n := r.uvarint()
	end := flags&v3TxnEnd != 0
	switch {
	case r.err != nil:
		return dst, r.err
	case end && (kind != pubsub.TableChanged || tpl.LSN == 0):
		return dst, fmt.Errorf("%w: a transaction's end on a message or without LSN", errBadMessage)
	case n == 0 && end:
		if tpl.Schema != "" || tpl.Table != "" {
			return dst, fmt.Errorf("%w: a transaction's end alone names a table", errBadMessage)
		}
		if err := r.end(); err != nil {
			return dst, err
		}
		return append(dst, endMark(&tpl)), nil
	case n == 0:
		return dst, fmt.Errorf("%w: a body of no changes", errBadMessage)
	case kind == pubsub.Message && n != 1:
		return dst, fmt.Errorf("%w: a message body of %d events", errBadMessage, n)
	case n > uint64(len(r.b)/4):
		// Each change takes four bytes at least.
		return dst, fmt.Errorf("%w: %d changes in %d bytes", errBadMessage, n, len(r.b))
	case kind == pubsub.TableChanged && (tpl.Schema == "" || tpl.Table == ""):
		return dst, fmt.Errorf("%w: change without schema or table", errBadMessage)
	}
	start := len(dst)
	var last *pubsub.RowLayout
	var seq uint64
	// Room for what a leader puts in a message, not for what a malformed
	// count claims.
	dst = slices.Grow(dst, int(min(n, maxBatchChanges)))
	for range n {
		cf := r.byte1()
		if cf&^v3ChangeFlagsKnw != 0 {
			r.failWith(fmt.Errorf("%w: unknown change flags %#x", errBadMessage, cf))
		}
		// Built in place: an Event is some 200 bytes, worth not copying
		// twice per change.
		dst = append(dst, tpl)
		ev := &dst[len(dst)-1]
		ev.Cascade, ev.RestartIdentity = cf&v3Cascade != 0, cf&v3Restart != 0
		ev.Operation = pubsub.Operation(intern(&d.op, r.bytes()))
		ev.RowID = d.ids.Copy(r.bytes())
		delta := r.uvarint()
		if delta > math.MaxUint64-seq {
			r.fail()
		}
		seq += delta
		ev.Seq = seq
		if cf&v3New != 0 {
			ev.New, last = d.row(&r, last)
		}
		if cf&v3Old != 0 {
			ev.Old, last = d.row(&r, last)
		}
		if r.err != nil {
			clear(dst[start:])
			return dst[:start], r.err
		}
	}
	if err := r.end(); err != nil {
		clear(dst[start:])
		return dst[:start], err
	}
	if end {
		dst = append(dst, endMark(&tpl))
	}
	return dst, nil
}

// endMark is the end mark of tpl's transaction as a body's flag
// v3TxnEnd gives it: no table, no Seq (the follower places it).
func endMark(tpl *pubsub.Event) pubsub.Event {
	return pubsub.Event{Kind: pubsub.Committed, LSN: tpl.LSN, Xid: tpl.Xid, CommitTime: tpl.CommitTime}
}
