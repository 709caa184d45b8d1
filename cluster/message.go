package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// errBadMessage is wrapped by decode errors.
var errBadMessage = errors.New("cluster: malformed stream message")

// A stream message body starts with a format byte. The current format is
// binary (see encodeEvent); a body that starts with '{' is the JSON of
// earlier releases, which decodeEvent still reads.
const (
	bodyChangeV1 byte = 0x01 // a change, format 1
	bodyResyncV1 byte = 0x02 // a Resync, format 1
	bodyJSON     byte = '{'  // earlier releases: a JSON object (wireEvent)
)

// Flags of a format 1 change: which optional fields follow.
const (
	flagCommitTime byte = 1 << iota
	flagNew
	flagOld
	flagsKnown = flagCommitTime | flagNew | flagOld
)

// encodeEvent returns the subject and body of ev.
//
// Format 1, a Resync: 0x02, then the reason (a string: its length as a
// uvarint, then its bytes). A change: 0x01, a flags byte, schema, table,
// operation and row id (strings), the commit LSN (uvarint), then, if the
// flags say so, the commit time (Unix seconds as a varint, nanoseconds as
// a uvarint) and the new and old row values (each a string holding a JSON
// object). Schema and table travel in the body so that a reader need not
// parse the subject (which is there for filtering by NATS tools).
func encodeEvent(prefix string, ev pubsub.Event) (subject string, body []byte, err error) {
	if ev.Kind == pubsub.Resync {
		body = make([]byte, 0, 2+len(ev.Reason))
		body = append(body, bodyResyncV1)
		return resyncSubject(prefix), appendString(body, ev.Reason), nil
	}
	var flags byte
	var newJSON, oldJSON []byte
	if !ev.CommitTime.IsZero() {
		flags |= flagCommitTime
	}
	if ev.New != nil {
		flags |= flagNew
		if newJSON, err = json.Marshal(ev.New); err != nil {
			return "", nil, fmt.Errorf("cluster: encode %v: %w", ev, err)
		}
	}
	if ev.Old != nil {
		flags |= flagOld
		if oldJSON, err = json.Marshal(ev.Old); err != nil {
			return "", nil, fmt.Errorf("cluster: encode %v: %w", ev, err)
		}
	}
	n := 2 + 4*binary.MaxVarintLen32 + len(ev.Schema) + len(ev.Table) + len(ev.Operation) + len(ev.RowID) +
		3*binary.MaxVarintLen64 + 2*binary.MaxVarintLen32 + len(newJSON) + len(oldJSON)
	body = make([]byte, 0, n)
	body = append(body, bodyChangeV1, flags)
	body = appendString(body, ev.Schema)
	body = appendString(body, ev.Table)
	body = appendString(body, ev.Operation)
	body = appendString(body, ev.RowID)
	body = binary.AppendUvarint(body, ev.LSN)
	if flags&flagCommitTime != 0 {
		body = binary.AppendVarint(body, ev.CommitTime.Unix())
		body = binary.AppendUvarint(body, uint64(ev.CommitTime.Nanosecond()))
	}
	if flags&flagNew != 0 {
		body = appendBytes(body, newJSON)
	}
	if flags&flagOld != 0 {
		body = appendBytes(body, oldJSON)
	}
	return changeSubject(prefix, ev.Schema, ev.Table), body, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEvent parses a stream message body with a fresh decoder.
func decodeEvent(body []byte) (pubsub.Event, error) {
	var d decoder
	return d.decode(body)
}

// decoder parses stream message bodies. It keeps the last schema, table
// and operation it decoded, so that a run of changes of one table
// allocates no new strings for them. Not safe for concurrent use.
type decoder struct {
	schema, table, op string
}

// decode parses a stream message body. Row values come back as JSON
// gives them: numbers as json.Number, timestamps and byte strings as
// strings, as json.Marshal wrote them on the leader.
func (d *decoder) decode(body []byte) (pubsub.Event, error) {
	if len(body) == 0 {
		return pubsub.Event{}, fmt.Errorf("%w: empty body", errBadMessage)
	}
	switch body[0] {
	case bodyResyncV1:
		r := reader{b: body[1:]}
		reason := string(r.bytes())
		if err := r.end(); err != nil {
			return pubsub.Event{}, err
		}
		return pubsub.Event{Kind: pubsub.Resync, Reason: reason}, nil
	case bodyChangeV1:
		return d.change(body[1:])
	case bodyJSON:
		return decodeJSON(body)
	}
	return pubsub.Event{}, fmt.Errorf("%w: unknown format %#x", errBadMessage, body[0])
}

// change parses a format 1 change after its format byte.
func (d *decoder) change(b []byte) (pubsub.Event, error) {
	if len(b) == 0 {
		return pubsub.Event{}, fmt.Errorf("%w: truncated", errBadMessage)
	}
	flags := b[0]
	if flags&^flagsKnown != 0 {
		return pubsub.Event{}, fmt.Errorf("%w: unknown flags %#x", errBadMessage, flags)
	}
	r := reader{b: b[1:]}
	ev := pubsub.Event{Kind: pubsub.TableChanged}
	ev.Schema = intern(&d.schema, r.bytes())
	ev.Table = intern(&d.table, r.bytes())
	ev.Operation = intern(&d.op, r.bytes())
	ev.RowID = string(r.bytes())
	ev.LSN = r.uvarint()
	if flags&flagCommitTime != 0 {
		sec, nsec := r.varint(), r.uvarint()
		if nsec >= 1e9 {
			r.fail()
		}
		ev.CommitTime = time.Unix(sec, int64(nsec)).UTC()
	}
	if flags&flagNew != 0 {
		ev.New = r.values()
	}
	if flags&flagOld != 0 {
		ev.Old = r.values()
	}
	if err := r.end(); err != nil {
		return pubsub.Event{}, err
	}
	if ev.Schema == "" || ev.Table == "" {
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

// reader reads a format 1 body; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or malformed", errBadMessage)
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

// values reads row values: a string holding a JSON object.
func (r *reader) values() map[string]any {
	b := r.bytes()
	if r.err != nil {
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || dec.More() || m == nil {
		r.err = fmt.Errorf("%w: row values: not a JSON object", errBadMessage)
		r.b = nil
	}
	return m
}

// end reports the first error, or one if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errBadMessage, len(r.b))
	}
	return r.err
}
