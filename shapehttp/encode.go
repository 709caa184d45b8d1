package shapehttp

import (
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/internal/jsontext"
)

// appendString appends s as a JSON string (see jsontext.AppendString):
// <, > and & are left as they are (the body is JSON, never HTML).
func appendString(b []byte, s string) []byte { return jsontext.AppendString(b, s) }

// appendUint appends n as a JSON string of decimal digits.
func appendUintString(b []byte, n uint64) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, n, 10)
	return append(b, '"')
}

// Control messages, ready to send.
var (
	mustRefetchBody = []byte(`[{"headers":{"control":"must-refetch"}}]`)
)

// appendUpToDate appends the up-to-date control message. lsn is what the
// client, in SSE mode, turns into its next offset "<lsn>_0".
func appendUpToDate(b []byte, lsn uint64) []byte {
	b = append(b, `{"headers":{"control":"up-to-date","global_last_seen_lsn":`...)
	b = appendUintString(b, lsn)
	return append(b, "}}"...)
}
