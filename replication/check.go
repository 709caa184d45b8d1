package replication

import (
	"encoding/binary"
	"errors"
)

// errMalformed is wrapped by checkSizes' errors.
var errMalformed = errors.New("replication: malformed pgoutput message")

// checkSizes walks the length fields of a row or truncate message and
// refuses one whose counts or lengths overrun it. pglogrepl allocates what
// those fields say before it looks at the bytes that follow, so without
// this a corrupt message could make it allocate gigabytes. Other message
// types pass unchecked: their sizes are bounded by the message itself.
func checkSizes(data []byte) error {
	if len(data) == 0 {
		return errMalformed
	}
	rest := data[1:]
	switch data[0] {
	case 'T':
		if len(rest) < 5 || uint64(binary.BigEndian.Uint32(rest))*4 > uint64(len(rest)-5) {
			return errMalformed
		}
		return nil
	case 'I', 'U', 'D':
	default:
		return nil
	}
	if len(rest) < 4 {
		return errMalformed
	}
	rest = rest[4:] // relation id
	for len(rest) > 0 {
		switch rest[0] {
		case 'K', 'O', 'N':
		default:
			return errMalformed
		}
		var err error
		if rest, err = skipTuple(rest[1:]); err != nil {
			return err
		}
	}
	return nil
}

// skipTuple returns what follows the TupleData at the start of b.
func skipTuple(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	for range n {
		if len(b) < 1 {
			return nil, errMalformed
		}
		kind := b[0]
		b = b[1:]
		switch kind {
		case 'n', 'u':
		case 't', 'b':
			if len(b) < 4 {
				return nil, errMalformed
			}
			l := uint64(binary.BigEndian.Uint32(b))
			b = b[4:]
			if l > uint64(len(b)) {
				return nil, errMalformed
			}
			b = b[l:]
		default:
			return nil, errMalformed
		}
	}
	return b, nil
}
