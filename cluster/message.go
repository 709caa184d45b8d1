package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/strblock"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// errBadMessage is wrapped by decode errors.
var errBadMessage = errors.New("cluster: malformed stream message")

// A stream message body starts with a format byte. The leader writes
// format 3 (see encoder.encodeBatch): one Resync, one logical message, or
// a batch of changes. decode still reads format 2, format 1 and the JSON
// of earlier releases (messages a stream kept across an upgrade).
// docs/cluster.md describes formats 3 and 2 byte by byte.
const (
	bodyChangeV1 byte = 0x01 // a change, format 1 (rows as JSON)
	bodyResyncV1 byte = 0x02 // a Resync, format 1
	bodyV2       byte = 0x03 // any event, format 2
	bodyJSON     byte = '{'  // earlier releases: a JSON object (wireEvent)
)

// Flags of a format 2 change or message: which optional fields follow,
// and the TRUNCATE options.
const (
	v2CommitTime byte = 1 << iota
	v2New
	v2Old
	v2Cascade
	v2RestartIdentity
	v2FlagsKnown = v2CommitTime | v2New | v2Old | v2Cascade | v2RestartIdentity
)

// encodeEvent returns the subject and format 3 body of ev alone, with a
// fresh encoder.
func encodeEvent(prefix string, ev pubsub.Event) (subject string, body []byte, err error) {
	var e encoder
	return e.encodeBatch(prefix, []pubsub.Event{ev})
}

// encoder writes stream message bodies. It keeps the encoding of the last row
// layout it wrote, so that a run of one table's changes writes its column
// list by copying. Not safe for concurrent use (the relay goroutine owns
// its encoder).
type encoder struct {
	layout *pubsub.RowLayout
	enc    []byte // layout's encoding, without its length prefix
}

// encode returns the subject and body of ev in format 2, which earlier
// releases wrote (the leader writes format 3: encodeBatch); tests use it
// to check that followers still read it:
//
//	0x03, kind (pubsub.Kind as a byte), then
//	Resync:              reason (string)
//	TableChanged/Message: flags, schema, table, operation, row id (strings),
//	                     LSN, Seq (uvarints), [commit time: Unix seconds
//	                     (varint), nanoseconds (uvarint)], Message only:
//	                     prefix (string), content (bytes), [new row], [old row]
//
// A string or bytes is its length as a uvarint, then its bytes. A row is
// its layout (a uvarint length L, then L bytes: the column count, then per
// column its name, OID and DecodeOID, 0 when it equals OID; L = 0 for an
// old row means "the new row's layout"), then per column a state byte
// (pubsub.ColumnState) and, for a present column, its text. A zero Kind
// is written as TableChanged. The body is one allocation.
func (e *encoder) encode(prefix string, ev pubsub.Event) (subject string, body []byte, err error) {
	switch ev.Kind {
	case pubsub.Resync:
		body = make([]byte, 0, 2+binary.MaxVarintLen32+len(ev.Reason))
		body = append(body, bodyV2, byte(pubsub.Resync))
		return resyncSubject(prefix), appendString(body, string(ev.Reason)), nil
	case pubsub.TableChanged, 0:
		ev.Kind = pubsub.TableChanged
		subject = changeSubject(prefix, ev.Schema, ev.Table)
	case pubsub.Message:
		subject = messageSubject(prefix, ev.Prefix)
	default:
		return "", nil, fmt.Errorf("cluster: encode %v: unknown kind %v", ev, ev.Kind)
	}
	var flags byte
	n := 3 + 4*binary.MaxVarintLen32 + len(ev.Schema) + len(ev.Table) + len(ev.Operation) + len(ev.RowID) +
		2*binary.MaxVarintLen64
	if !ev.CommitTime.IsZero() {
		flags |= v2CommitTime
		n += binary.MaxVarintLen64 + binary.MaxVarintLen32
	}
	if ev.Kind == pubsub.Message {
		n += 2*binary.MaxVarintLen32 + len(ev.Prefix) + len(ev.Content)
	}
	sameLayout := false
	if ev.New != nil {
		flags |= v2New
		n += e.rowSize(ev.New, false)
	}
	if ev.Old != nil {
		flags |= v2Old
		sameLayout = ev.New != nil && ev.Old.Layout() == ev.New.Layout()
		n += e.rowSize(ev.Old, sameLayout)
	}
	if ev.Cascade {
		flags |= v2Cascade
	}
	if ev.RestartIdentity {
		flags |= v2RestartIdentity
	}
	body = make([]byte, 0, n)
	body = append(body, bodyV2, byte(ev.Kind), flags)
	body = appendString(body, ev.Schema)
	body = appendString(body, ev.Table)
	body = appendString(body, string(ev.Operation))
	body = appendString(body, ev.RowID)
	body = binary.AppendUvarint(body, uint64(ev.LSN))
	body = binary.AppendUvarint(body, ev.Seq)
	if flags&v2CommitTime != 0 {
		body = binary.AppendVarint(body, ev.CommitTime.Unix())
		body = binary.AppendUvarint(body, uint64(ev.CommitTime.Nanosecond()))
	}
	if ev.Kind == pubsub.Message {
		body = appendString(body, ev.Prefix)
		body = appendBytes(body, ev.Content)
	}
	if ev.New != nil {
		body = e.appendRow(body, ev.New, false)
	}
	if ev.Old != nil {
		body = e.appendRow(body, ev.Old, sameLayout)
	}
	return subject, body, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEvent parses a stream message body of one event with a fresh
// decoder.
func decodeEvent(body []byte) (pubsub.Event, error) {
	var d decoder
	return d.decode(body)
}

// decoder parses stream message bodies. It keeps the last schema, table,
// operation and message prefix it decoded, so that a run of changes of
// one table allocates no new strings for them, and the row layouts it
// built, keyed by their encoding, so that rows of one table share one
// *pubsub.RowLayout. Not safe for concurrent use (the follower's consume
// loop owns its decoder).
type decoder struct {
	schema, table, op, prefix string

	layouts    map[string]*pubsub.RowLayout
	lastKey    string // the encoding of lastLayout
	lastLayout *pubsub.RowLayout
	cells      []pubsub.Cell // scratch for NewRow
	cols       []pubsub.ColumnType
	ids        strblock.Block // row ids of format 3 bodies
}

// decodeAll parses a stream message body, appending its events (one,
// or a format 3 batch) to dst. Rows come back as the leader's source
// built them: each column's name, type, state and text. On an error dst
// comes back as it was.
func (d *decoder) decodeAll(dst []pubsub.Event, body []byte) ([]pubsub.Event, error) {
	if len(body) > 0 && body[0] == bodyV3 {
		return d.v3(dst, body[1:])
	}
	ev, err := d.decode(body)
	if err != nil {
		return dst, err
	}
	return append(dst, ev), nil
}

// decode parses a stream message body that holds one event.
func (d *decoder) decode(body []byte) (pubsub.Event, error) {
	if len(body) == 0 {
		return pubsub.Event{}, fmt.Errorf("%w: empty body", errBadMessage)
	}
	switch body[0] {
	case bodyV3:
		var one [1]pubsub.Event
		evs, err := d.v3(one[:0], body[1:])
		if err != nil {
			return pubsub.Event{}, err
		}
		if len(evs) != 1 {
			return pubsub.Event{}, fmt.Errorf("%w: %d events where one was expected", errBadMessage, len(evs))
		}
		return evs[0], nil
	case bodyV2:
		return d.v2(body[1:])
	case bodyResyncV1:
		r := reader{b: body[1:]}
		reason := pubsub.Reason(r.bytes())
		if err := r.end(); err != nil {
			return pubsub.Event{}, err
		}
		return pubsub.Event{Kind: pubsub.Resync, Reason: reason}, nil
	case bodyChangeV1:
		return d.changeV1(body[1:])
	case bodyJSON:
		return d.decodeJSON(body)
	}
	return pubsub.Event{}, fmt.Errorf("%w: unknown format %#x", errBadMessage, body[0])
}

// v2 parses a format 2 body after its format byte.
func (d *decoder) v2(b []byte) (pubsub.Event, error) {
	if len(b) == 0 {
		return pubsub.Event{}, fmt.Errorf("%w: truncated", errBadMessage)
	}
	kind := pubsub.Kind(b[0])
	if kind == pubsub.Resync {
		r := reader{b: b[1:]}
		reason := pubsub.Reason(r.bytes())
		if err := r.end(); err != nil {
			return pubsub.Event{}, err
		}
		return pubsub.Event{Kind: pubsub.Resync, Reason: reason}, nil
	}
	if kind != pubsub.TableChanged && kind != pubsub.Message {
		return pubsub.Event{}, fmt.Errorf("%w: unknown kind %d", errBadMessage, b[0])
	}
	if len(b) < 2 {
		return pubsub.Event{}, fmt.Errorf("%w: truncated", errBadMessage)
	}
	flags := b[1]
	if flags&^v2FlagsKnown != 0 {
		return pubsub.Event{}, fmt.Errorf("%w: unknown flags %#x", errBadMessage, flags)
	}
	r := reader{b: b[2:]}
	ev := pubsub.Event{Kind: kind, Cascade: flags&v2Cascade != 0, RestartIdentity: flags&v2RestartIdentity != 0}
	ev.Schema = intern(&d.schema, r.bytes())
	ev.Table = intern(&d.table, r.bytes())
	ev.Operation = pubsub.Operation(intern(&d.op, r.bytes()))
	if id := r.bytes(); len(id) > 0 {
		ev.RowID = string(id)
	}
	ev.LSN = pubsub.LSN(r.uvarint())
	ev.Seq = r.uvarint()
	if flags&v2CommitTime != 0 {
		ev.CommitTime = r.time()
	}
	if kind == pubsub.Message {
		ev.Prefix = intern(&d.prefix, r.bytes())
		if c := r.bytes(); len(c) > 0 {
			ev.Content = append([]byte(nil), c...)
		}
	}
	var layout *pubsub.RowLayout
	if flags&v2New != 0 {
		ev.New, layout = d.row(&r, nil)
	}
	if flags&v2Old != 0 {
		ev.Old, _ = d.row(&r, layout)
	}
	if err := r.end(); err != nil {
		return pubsub.Event{}, err
	}
	if kind == pubsub.TableChanged && (ev.Schema == "" || ev.Table == "") {
		return pubsub.Event{}, fmt.Errorf("%w: change without schema or table", errBadMessage)
	}
	return ev, nil
}

// intern returns b as a string, reusing *last when it holds the same
// bytes (no allocation), and remembers it.
func intern(last *string, b []byte) string {
	if string(b) != *last { // compiled without a copy
		*last = string(b)
	}
	return *last
}

// reader reads a binary body; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	r.failWith(fmt.Errorf("%w: truncated or malformed", errBadMessage))
}

func (r *reader) failWith(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// byte1 reads one byte.
func (r *reader) byte1() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// time reads a commit time: Unix seconds, then nanoseconds.
func (r *reader) time() time.Time {
	sec, nsec := r.varint(), r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		r.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if t.IsZero() {
		// The zero time is "no commit time", written without the flag.
		r.fail()
	}
	return t
}

// bytes reads a length-prefixed string; the result aliases the body.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// end reports the first error, or one if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errBadMessage, len(r.b))
	}
	return r.err
}
