package replication

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
)

// tupleBytes encodes a TupleData: each column a kind and, for 't' and
// 'b', its bytes.
func tupleBytes(cols ...tupleCol) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(cols)))
	for _, c := range cols {
		b = append(b, c.kind)
		if c.kind == 't' || c.kind == 'b' {
			b = binary.BigEndian.AppendUint32(b, uint32(len(c.data)))
			b = append(b, c.data...)
		}
	}
	return b
}

// rowBytes encodes a row message of type typ for relation 7 from its
// parts: each a tuple tag ('K', 'O', 'N') and a TupleData.
func rowBytes(typ byte, parts ...any) []byte {
	b := binary.BigEndian.AppendUint32([]byte{typ}, 7)
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

func txt(s string) tupleCol { return tupleCol{kind: 't', data: []byte(s)} }

// hotMessages are well-formed messages of every type the parser of
// pgoutput.go handles, in the shapes the server sends.
func hotMessages() [][]byte {
	all := tupleBytes(txt("42"), tupleCol{kind: 'n'}, tupleCol{kind: 'u'}, txt(""), tupleCol{kind: 'b', data: []byte{0, 1, 2}})
	key := tupleBytes(txt("42"), tupleCol{kind: 'n'}, tupleCol{kind: 'n'}, tupleCol{kind: 'n'}, tupleCol{kind: 'n'})
	return [][]byte{
		beginMsg(), commitMsg(), insertMsg(),
		rowBytes('I', byte('N'), all),
		rowBytes('U', byte('N'), all),
		rowBytes('U', byte('K'), key, byte('N'), all),
		rowBytes('U', byte('O'), all, byte('N'), all),
		rowBytes('D', byte('K'), key),
		rowBytes('D', byte('O'), all),
	}
}

// emptyInsert is the Insert of a row of a table without columns (CREATE
// TABLE t ()), which pglogrepl refuses as too short.
func emptyInsert() []byte { return rowBytes('I', byte('N'), tupleBytes()) }

// theirs is what pglogrepl makes of a hot message, as the fields the
// session uses.
type parsed struct {
	finalLSN, commitLSN, endLSN pubsub.LSN
	xid                         uint32
	commitTime                  int64
	row                         rowMsg
}

func viaPglogrepl(t *testing.T, data []byte) (parsed, error) {
	t.Helper()
	var p parsed
	var msg pglogrepl.Message
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = errors.New("pglogrepl panicked")
			}
		}()
		msg, err = pglogrepl.Parse(data)
	}()
	if err != nil {
		return p, err
	}
	tuple := func(td *pglogrepl.TupleData) []tupleCol {
		cols := []tupleCol{}
		for _, c := range td.Columns {
			tc := tupleCol{kind: c.DataType}
			if c.DataType == 't' || c.DataType == 'b' {
				tc.data = c.Data
			}
			cols = append(cols, tc)
		}
		return cols
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		p.finalLSN, p.xid, p.commitTime = pubsub.LSN(m.FinalLSN), m.Xid, m.CommitTime.UnixNano()
	case *pglogrepl.CommitMessage:
		p.commitLSN, p.endLSN = pubsub.LSN(m.CommitLSN), pubsub.LSN(m.TransactionEndLSN)
	case *pglogrepl.InsertMessage:
		p.row = rowMsg{op: pubsub.Insert, relID: m.RelationID, hasNew: true, newCols: tuple(m.Tuple)}
	case *pglogrepl.UpdateMessage:
		p.row = rowMsg{op: pubsub.Update, relID: m.RelationID, hasNew: true, newCols: tuple(m.NewTuple), oldKind: m.OldTupleType}
		if m.OldTuple != nil {
			p.row.oldCols = tuple(m.OldTuple)
		}
	case *pglogrepl.DeleteMessage:
		p.row = rowMsg{op: pubsub.Delete, relID: m.RelationID, oldKind: m.OldTupleType, oldCols: tuple(m.OldTuple)}
	}
	return p, nil
}

func viaOurs(data []byte) (parsed, error) {
	var p parsed
	var err error
	switch firstByte(data) {
	case 'B':
		var ct time.Time
		p.finalLSN, p.xid, ct, err = parseBegin(data)
		p.commitTime = ct.UnixNano()
	case 'C':
		p.commitLSN, p.endLSN, err = parseCommit(data)
	default:
		err = p.row.parse(data)
	}
	return p, err
}

// sameRow compares two parsed row messages, treating a nil and an empty
// column list as equal.
func sameRow(a, b rowMsg) bool {
	cols := func(x, y []tupleCol) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].kind != y[i].kind || !bytes.Equal(x[i].data, y[i].data) {
				return false
			}
		}
		return true
	}
	return a.op == b.op && a.relID == b.relID && a.hasNew == b.hasNew && a.oldKind == b.oldKind &&
		cols(a.newCols, b.newCols) && cols(a.oldCols, b.oldCols)
}

// TestParseMatchesPglogrepl: for every shape of row and transaction
// message, the allocation-free parser reads what pglogrepl reads.
func TestParseMatchesPglogrepl(t *testing.T) {
	for _, data := range hotMessages() {
		want, err := viaPglogrepl(t, data)
		if err != nil {
			t.Fatalf("pglogrepl refused %q: %v", data, err)
		}
		got, err := viaOurs(data)
		if err != nil {
			t.Fatalf("refused %q: %v", data, err)
		}
		if got.finalLSN != want.finalLSN || got.xid != want.xid || got.commitLSN != want.commitLSN || got.endLSN != want.endLSN ||
			got.commitTime != want.commitTime || !sameRow(got.row, want.row) {
			t.Errorf("%q:\n got %+v\nwant %+v", data, got, want)
		}
	}
}

// TestParseEmptyRow: a row of a table without columns is an Insert with
// an empty tuple, not an error (pglogrepl refuses it, which would stop
// the stream at that transaction for good).
func TestParseEmptyRow(t *testing.T) {
	got, err := viaOurs(emptyInsert())
	if err != nil {
		t.Fatal(err)
	}
	if !got.row.hasNew || len(got.row.newCols) != 0 || got.row.op != "INSERT" {
		t.Fatalf("got %+v, want an INSERT with an empty new tuple", got.row)
	}
}

// TestParseRefusesMalformed: truncated messages, overrunning lengths,
// unknown tags and trailing bytes are errors wrapping errMalformed.
func TestParseRefusesMalformed(t *testing.T) {
	var bad [][]byte
	for _, m := range hotMessages() {
		for n := 1; n < len(m); n++ {
			bad = append(bad, m[:n])
		}
		if m[0] != 'B' && m[0] != 'C' { // they may grow fields at their end
			bad = append(bad, append(bytes.Clone(m), 'N'))
		}
	}
	bad = append(bad,
		rowBytes('I', byte('N'), []byte{0, 1, 't', 0xff, 0xff, 0xff, 0xff}), // length past the end
		rowBytes('I', byte('N'), []byte{0xff, 0xff, 'n'}),                   // 65535 columns, 1 byte
		rowBytes('I', byte('N'), []byte{0, 1, 'x'}),                         // unknown column kind
		rowBytes('I', byte('K'), tupleBytes()),                              // insert with a key
		rowBytes('U', byte('K'), tupleBytes(), byte('X'), tupleBytes()),     // update without 'N'
		rowBytes('D', byte('N'), tupleBytes()),                              // delete without old
	)
	for _, data := range bad {
		if _, err := viaOurs(data); !errors.Is(err, errMalformed) {
			t.Errorf("%q: err %v, want errMalformed", data, err)
		}
	}
}

// FuzzParseRow: whatever the bytes, the parser does not panic, and what
// it accepts pglogrepl reads the same way.
func FuzzParseRow(f *testing.F) {
	for _, m := range hotMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := viaOurs(data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		want, err := viaPglogrepl(t, data)
		if err != nil && data[0] == 'I' && len(data) == len(emptyInsert()) {
			return // an empty row, which pglogrepl refuses
		}
		if err != nil {
			t.Fatalf("accepted %q, which pglogrepl refuses: %v", data, err)
		}
		if got.finalLSN != want.finalLSN || got.xid != want.xid || got.commitLSN != want.commitLSN || got.endLSN != want.endLSN ||
			got.commitTime != want.commitTime || !sameRow(got.row, want.row) {
			t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
		}
	})
}
