package shape

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// pgSnapshot is what a snapshot transaction saw: pg_current_snapshot()
// (64-bit xids) and pg_current_wal_lsn() read right after it.
//
// A transaction the snapshot saw committed before it was taken, so its
// commit record lies before lsn: a change whose commit LSN is at or past
// lsn belongs to a transaction the snapshot did not see, and from the
// first such change on (the stream is in commit order) no check is
// needed. Before it, the change's 32-bit xid is widened to 64 bits next
// to xmax (such a transaction ran while the snapshot was taken, well
// within 2^31 xids of it) and tested as PostgreSQL's
// pg_visible_in_snapshot does.
type pgSnapshot struct {
	xmin, xmax uint64
	xip        []uint64 // sorted
	lsn        pubsub.LSN
}

// parseSnapshot reads pg_snapshot's text form "xmin:xmax:xip,xip,...".
func parseSnapshot(s string, lsn pubsub.LSN) (*pgSnapshot, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("shape: unexpected pg_current_snapshot() %q", s)
	}
	var sn pgSnapshot
	var err error
	if sn.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return nil, fmt.Errorf("shape: unexpected pg_current_snapshot() %q", s)
	}
	if sn.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return nil, fmt.Errorf("shape: unexpected pg_current_snapshot() %q", s)
	}
	if parts[2] != "" {
		for _, x := range strings.Split(parts[2], ",") {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("shape: unexpected pg_current_snapshot() %q", s)
			}
			sn.xip = append(sn.xip, v)
		}
	}
	slices.Sort(sn.xip)
	sn.lsn = lsn
	return &sn, nil
}

// widen returns the 64-bit xid whose low 32 bits are xid and that lies
// closest to ref.
func widen(xid uint32, ref uint64) uint64 {
	x := ref&^0xFFFFFFFF | uint64(xid)
	switch {
	case x > ref && x-ref > 1<<31 && x >= 1<<32:
		x -= 1 << 32
	case x < ref && ref-x > 1<<31:
		x += 1 << 32
	}
	return x
}

// sees reports whether the snapshot saw the transaction of a change with
// commit position lsn and transaction id xid. A nil snapshot sees
// nothing; so does any snapshot for a change without an xid (0: a source
// that does not give one), which is then applied, at worst again.
func (s *pgSnapshot) sees(lsn pubsub.LSN, xid uint32) bool {
	if s == nil || lsn >= s.lsn || xid == 0 {
		return false
	}
	x := widen(xid, s.xmax)
	switch {
	case x < s.xmin:
		return true
	case x >= s.xmax:
		return false
	}
	_, found := slices.BinarySearch(s.xip, x)
	return !found
}

// passed reports whether a change at lsn shows that every later change
// comes from a transaction the snapshot did not see.
func (s *pgSnapshot) passed(lsn pubsub.LSN) bool { return s == nil || lsn >= s.lsn }
