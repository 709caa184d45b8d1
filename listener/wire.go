package listener

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The Listener reads its connection itself once LISTEN is set up: pgx's
// general-purpose decoder copies every notification twice and allocates
// four times, which made it the Listener's bottleneck. wire.go holds the
// few pieces of the PostgreSQL protocol (version 3) a LISTEN session needs.

// Backend message types the session acts on; every other type is skipped.
const (
	msgNotification    = 'A' // NotificationResponse: pid int32, channel, payload
	msgCommandComplete = 'C'
	msgReadyForQuery   = 'Z'
	msgErrorResponse   = 'E'
)

const (
	// readBufferSize is the socket read buffer: one read takes about 1,500
	// notifications of a burst. It also bounds the messages the session
	// reads whole (notifications are below 8 KiB plus the channel name).
	readBufferSize = 64 << 10
	// maxMessageLen refuses absurd lengths, which only a corrupt or hostile
	// stream can hold; skipped messages up to it are discarded unbuffered.
	maxMessageLen = 1 << 20
)

// errProtocol is wrapped by every error about a malformed message: the
// stream cannot be trusted any more and the session ends.
var errProtocol = errors.New("listener: protocol error")

// wireReader reads backend messages from a buffered connection. It is not
// safe for concurrent use.
type wireReader struct {
	r    *bufio.Reader
	done int // length of the message next last returned, discarded by the following call
	skip int // bytes of a skipped message not yet discarded (a read was interrupted)
}

func newWireReader(r io.Reader, size int) *wireReader {
	return &wireReader{r: bufio.NewReaderSize(r, size)}
}

// next returns the next message of a type the session acts on, skipping
// the others. It blocks until the whole message is buffered; the
// underlying reader's deadline bounds that. A read error (a timeout)
// leaves the reader consistent: a partial message stays buffered and the
// call can be repeated. body aliases the read buffer and is valid until
// the next call.
func (w *wireReader) next() (typ byte, body []byte, err error) {
	if w.done > 0 {
		// Already buffered: Discard cannot fail.
		_, _ = w.r.Discard(w.done)
		w.done = 0
	}
	for {
		if w.skip > 0 {
			n, err := w.r.Discard(w.skip)
			w.skip -= n
			if err != nil {
				return 0, nil, err
			}
		}
		hdr, err := w.r.Peek(5)
		if err != nil {
			return 0, nil, err
		}
		typ = hdr[0]
		// The length counts itself but not the type byte.
		n := binary.BigEndian.Uint32(hdr[1:])
		if n < 4 || n > maxMessageLen {
			return 0, nil, fmt.Errorf("%w: message %q has length %d", errProtocol, typ, int32(n))
		}
		switch typ {
		case msgNotification, msgCommandComplete, msgReadyForQuery, msgErrorResponse:
		default:
			// NoticeResponse, ParameterStatus and the like: nothing to do.
			_, _ = w.r.Discard(5)
			w.skip = int(n) - 4
			continue
		}
		if int(n)+1 > w.r.Size() {
			return 0, nil, fmt.Errorf("%w: message %q of %d bytes", errProtocol, typ, n)
		}
		msg, err := w.r.Peek(int(n) + 1)
		if err != nil {
			return 0, nil, err
		}
		w.done = int(n) + 1
		return typ, msg[5:], nil
	}
}

// ready reports whether next would return without reading the underlying
// reader: a whole message it returns is buffered, after any whole skipped
// ones. It never blocks.
func (w *wireReader) ready() bool {
	if w.skip > 0 {
		return false
	}
	buf, _ := w.r.Peek(w.r.Buffered()) // all buffered: cannot block
	for off := w.done; len(buf)-off >= 5; {
		end := uint64(off) + 1 + uint64(binary.BigEndian.Uint32(buf[off+1:]))
		if end > uint64(len(buf)) {
			return false
		}
		switch buf[off] {
		case msgNotification, msgCommandComplete, msgReadyForQuery, msgErrorResponse:
			return true
		}
		off = int(end)
	}
	return false
}

// parseNotification splits a NotificationResponse body into the channel
// and the payload, both aliasing body.
func parseNotification(body []byte) (channel, payload []byte, err error) {
	if len(body) < 4 {
		return nil, nil, fmt.Errorf("%w: notification of %d bytes", errProtocol, len(body))
	}
	rest := body[4:] // the sender's PID
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: notification channel not terminated", errProtocol)
	}
	channel, rest = rest[:i], rest[i+1:]
	i = bytes.IndexByte(rest, 0)
	if i < 0 || i != len(rest)-1 {
		return nil, nil, fmt.Errorf("%w: notification payload not terminated where the message ends", errProtocol)
	}
	return channel, rest[:i], nil
}

// parseError turns an ErrorResponse body into a *pgconn.PgError (SQLSTATE
// 57P01 for pg_terminate_backend, for instance), or a protocol error.
func parseError(body []byte) error {
	var msg pgproto3.ErrorResponse
	if err := msg.Decode(body); err != nil {
		return fmt.Errorf("%w: malformed error response", errProtocol)
	}
	return pgconn.ErrorResponseToPgError(&msg)
}

// appendQuery appends a simple-protocol Query message running sql, which
// must not contain a NUL byte.
func appendQuery(dst []byte, sql string) []byte {
	start := len(dst)
	dst = append(dst, 'Q', 0, 0, 0, 0)
	dst = append(dst, sql...)
	dst = append(dst, 0)
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst
}

// terminateMessage tells the server the session ends on purpose.
const terminateMessage = "X\x00\x00\x00\x04"
