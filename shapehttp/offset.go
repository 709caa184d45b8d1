package shapehttp

import (
	"fmt"
	"strconv"
	"strings"
)

// offset is a position in a shape's log as the protocol writes it:
// "<tx>_<op>", two unsigned decimal numbers. A client that read up to an
// offset asks for what comes strictly after it.
//
// In WAL mode tx is the LSN of the change's transaction and op its
// sequence number in that transaction; otherwise tx is a counter of the
// shape's log. Either way tx moves on by at least 2 from one committed
// transaction to the next, so "<tx+1>_0", the offset the client derives
// from an up-to-date message's global_last_seen_lsn in SSE mode, lies
// after every entry of transaction tx and before every later one.
type offset struct {
	tx, op uint64
}

// Special request offsets besides positions in the log.
const (
	offsetBeforeAll = "-1"  // the start: the snapshot, then the log
	offsetNow       = "now" // no snapshot: the current end of the log
)

// less reports whether o comes before p.
func (o offset) less(p offset) bool {
	return o.tx < p.tx || (o.tx == p.tx && o.op < p.op)
}

// String formats o as the protocol does: "<tx>_<op>".
func (o offset) String() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, o.tx, 10)
	b = append(b, '_')
	b = strconv.AppendUint(b, o.op, 10)
	return string(b)
}

// parseOffset reads "<tx>_<op>". It refuses signs, spaces, empty parts
// and numbers past 64 bits; "-1" and "now" are the caller's to handle.
func parseOffset(s string) (offset, error) {
	txs, ops, ok := strings.Cut(s, "_")
	if !ok || !decimal(txs) || !decimal(ops) {
		return offset{}, fmt.Errorf("%q is not -1, now or <number>_<number>", s)
	}
	tx, err1 := strconv.ParseUint(txs, 10, 64)
	op, err2 := strconv.ParseUint(ops, 10, 64)
	if err1 != nil || err2 != nil {
		return offset{}, fmt.Errorf("%q has a number past 64 bits", s)
	}
	return offset{tx: tx, op: op}, nil
}

// decimal reports whether s is one or more ASCII digits.
func decimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
