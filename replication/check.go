package replication

import (
	"encoding/binary"
	"errors"
)

// errMalformed is wrapped by the errors of a pgoutput message that does
// not parse.
var errMalformed = errors.New("replication: malformed pgoutput message")

// checkSizes refuses a message for pglogrepl whose counts overrun it.
// pglogrepl allocates what a Truncate's relation count says before it
// looks at the bytes that follow, so without this a corrupt message could
// make it allocate gigabytes. Row messages never reach pglogrepl (see
// pgoutput.go); other message types are bounded by their own size.
func checkSizes(data []byte) error {
	if len(data) == 0 {
		return errMalformed
	}
	rest := data[1:]
	if data[0] == 'T' && (len(rest) < 5 || uint64(binary.BigEndian.Uint32(rest))*4 > uint64(len(rest)-5)) {
		return errMalformed
	}
	return nil
}
