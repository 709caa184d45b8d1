package pubsub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// LSN is a position in PostgreSQL's write-ahead log, a 64-bit byte offset.
// Its String form is the server's own, "16/B374D848" (the high and low 32
// bits in upper-case hexadecimal), as pg_current_wal_lsn() and
// pg_replication_slots print it; [ParseLSN] reads that form back.
type LSN uint64

// String formats the LSN as PostgreSQL prints a pg_lsn: "0/16B3748".
func (l LSN) String() string {
	return strings.ToUpper(strconv.FormatUint(uint64(l)>>32, 16) + "/" + strconv.FormatUint(uint64(l)&0xFFFFFFFF, 16))
}

// ErrInvalidLSN is returned (wrapped) by [ParseLSN] for text that is not
// of the form "X/Y" with hexadecimal X and Y of at most 8 digits each.
var ErrInvalidLSN = errors.New("pubsub: invalid LSN")

// ParseLSN reads a pg_lsn's text form ("16/B374D848", upper or lower
// case) as PostgreSQL accepts it.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("%w %q: want two hexadecimal numbers of up to 8 digits separated by '/', as pg_current_wal_lsn() prints", ErrInvalidLSN, s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w %q: want two hexadecimal numbers of up to 8 digits separated by '/', as pg_current_wal_lsn() prints", ErrInvalidLSN, s)
	}
	return LSN(h<<32 | l), nil
}
