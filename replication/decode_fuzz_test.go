package replication

import (
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// pgoutput messages for the seed corpus.
func relationMsg() []byte {
	b := []byte{'R'}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, "public\x00items\x00"...)
	b = append(b, 'd')
	b = binary.BigEndian.AppendUint16(b, 3)
	// id is the primary key: the replica identity's only column.
	for _, c := range []struct {
		name string
		oid  uint32
		flag byte
	}{{"id", pgtype.Int8OID, 1}, {"uuid", pgtype.UUIDOID, 0}, {"name", pgtype.TextOID, 0}} {
		b = append(b, c.flag)
		b = append(b, c.name+"\x00"...)
		b = binary.BigEndian.AppendUint32(b, c.oid)
		b = binary.BigEndian.AppendUint32(b, 0xffffffff)
	}
	return b
}

func insertMsg() []byte {
	b := []byte{'I'}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, 'N')
	b = binary.BigEndian.AppendUint16(b, 3)
	for _, v := range []string{"4242424", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "name 4242424"} {
		b = append(b, 't')
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

func beginMsg() []byte {
	b := []byte{'B'}
	b = binary.BigEndian.AppendUint64(b, 1000)
	b = binary.BigEndian.AppendUint64(b, 0)
	return binary.BigEndian.AppendUint32(b, 7)
}

func commitMsg() []byte {
	b := []byte{'C', 0}
	b = binary.BigEndian.AppendUint64(b, 1000)
	b = binary.BigEndian.AppendUint64(b, 1100)
	return binary.BigEndian.AppendUint64(b, 0)
}

// FuzzMessage feeds arbitrary pgoutput messages to a session that knows
// one relation: decoding may fail, never panic.
func FuzzMessage(f *testing.F) {
	for _, m := range [][]byte{relationMsg(), insertMsg(), beginMsg(), commitMsg(), {'D', 0, 0, 0, 1, 'K', 0, 1}, {'T', 0, 0, 0, 1, 0, 0, 0, 0, 1}, {'U'}} {
		f.Add(m)
	}
	ps := pubsub.New(slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Source{cfg: Config{Slot: "s"}, log: slog.New(slog.DiscardHandler), ps: ps}
		ss := &session{s: s, relations: map[uint32]*relation{}}
		if err := ss.message(relationMsg()); err != nil {
			t.Fatal(err)
		}
		ss.begin(1000, 1, time.Time{})
		_ = ss.message(data)
		_ = ss.message(insertMsg())
		ss.flush()
	})
}
