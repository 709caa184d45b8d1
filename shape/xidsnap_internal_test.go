package shape

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

type pubsubLSN = pubsub.LSN

func TestWiden(t *testing.T) {
	for _, c := range []struct {
		xid  uint32
		ref  uint64
		want uint64
	}{
		{100, 105, 100},
		{0xFFFFFFF0, 1<<32 + 5, 0xFFFFFFF0},
		{5, 1<<32 - 10, 1<<32 + 5},
		{5, 3<<32 + 7, 3<<32 + 5},
		{0xFFFFFFFF, 10, 0xFFFFFFFF}, // no epoch below 0
	} {
		if got := widen(c.xid, c.ref); got != c.want {
			t.Errorf("widen(%d, %d) = %d, want %d", c.xid, c.ref, got, c.want)
		}
	}
}

func TestSees(t *testing.T) {
	s, err := parseSnapshot("4294967300:4294967310:4294967302,4294967305", 1000)
	if err != nil {
		t.Fatal(err)
	}
	low := func(x uint64) uint32 { return uint32(x) }
	for _, c := range []struct {
		xid  uint64
		lsn  uint64
		want bool
	}{
		{4294967299, 10, true},
		{4294967301, 10, true},
		{4294967302, 10, false},
		{4294967305, 10, false},
		{4294967309, 10, true},
		{4294967310, 10, false},
		{4294967299, 1000, false}, // at or past the snapshot's WAL position
	} {
		if got := s.sees(lsnOf(c.lsn), low(c.xid)); got != c.want {
			t.Errorf("sees(lsn %d, xid %d) = %v, want %v", c.lsn, c.xid, got, c.want)
		}
	}
}

func lsnOf(v uint64) pubsubLSN { return pubsubLSN(v) }
