package listener

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/iotest"

	"github.com/jackc/pgx/v5/pgconn"
)

// Byte fixtures of backend messages.

func wireMsg(typ byte, body ...[]byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(b)-1))
	return b
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func wireNotify(pid uint32, channel, payload string) []byte {
	return wireMsg('A', binary.BigEndian.AppendUint32(nil, pid), cstr(channel), cstr(payload))
}

func wireCommand(tag string) []byte { return wireMsg('C', cstr(tag)) }
func wireReady() []byte             { return wireMsg('Z', []byte{'I'}) }

// wireError builds an ErrorResponse from field code/value pairs.
func wireError(fields ...string) []byte {
	var body []byte
	for i := 0; i+1 < len(fields); i += 2 {
		body = append(append(body, fields[i][0]), cstr(fields[i+1])...)
	}
	return wireMsg('E', append(body, 0))
}

func terminated() []byte {
	return wireError("S", "FATAL", "V", "FATAL", "C", "57P01", "M", "terminating connection due to administrator command")
}

type wantMsg struct {
	typ  byte
	body []byte
}

// everyType is a stream holding each message type the reader meets.
func everyType() ([]byte, []wantMsg) {
	var stream []byte
	var want []wantMsg
	add := func(m []byte, kept bool) {
		stream = append(stream, m...)
		if kept {
			want = append(want, wantMsg{m[0], m[5:]})
		}
	}
	add(wireMsg('S', cstr("application_name"), cstr("x")), false)
	add(wireCommand("LISTEN"), true)
	add(wireNotify(7, "ch", "public.t:INSERT:1"), true)
	add(wireMsg('N', cstr("SNOTICE"), cstr("Mhello"), []byte{0}), false)
	add(wireReady(), true)
	add(wireMsg('x', bytes.Repeat([]byte{'z'}, 3000)), false) // unknown and long
	add(wireNotify(7, "ch", ""), true)
	add(terminated(), true)
	return stream, want
}

func TestWireReaderEveryTypeAnySplit(t *testing.T) {
	stream, want := everyType()
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"halves":   func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"timeouts": func() io.Reader { return &timeoutReader{r: iotest.OneByteReader(bytes.NewReader(stream))} },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			// A buffer smaller than the skipped message: it is discarded, not buffered.
			w := newWireReader(mk(), 1024)
			var got []wantMsg
			for {
				typ, body, err := w.next()
				if isTimeout(err) {
					continue // a deadline passed: the call can be repeated
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d messages: %v", len(got), err)
				}
				got = append(got, wantMsg{typ, bytes.Clone(body)})
			}
			if len(got) != len(want) {
				t.Fatalf("got %d messages, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].typ != want[i].typ || !bytes.Equal(got[i].body, want[i].body) {
					t.Fatalf("message %d = %q %q, want %q %q", i, got[i].typ, got[i].body, want[i].typ, want[i].body)
				}
			}
		})
	}
}

// timeoutReader fails every other Read with a net timeout, like a socket
// whose deadline passes between two packets.
type timeoutReader struct {
	r io.Reader
	n int
}

func (r *timeoutReader) Read(p []byte) (int, error) {
	if r.n++; r.n%2 == 1 {
		return 0, os.ErrDeadlineExceeded
	}
	return r.r.Read(p)
}

func TestWireReaderRefusesBadStreams(t *testing.T) {
	notify := wireNotify(1, "ch", "p")
	lie := bytes.Clone(notify)
	binary.BigEndian.PutUint32(lie[1:], uint32(len(notify)+100)) // longer than what follows
	cases := []struct {
		name   string
		stream []byte
		size   int
		proto  bool // errProtocol, rather than the end of the stream
	}{
		{"length below 4", []byte{'A', 0, 0, 0, 3}, 1024, true},
		{"negative length", []byte{'A', 0xff, 0xff, 0xff, 0xfe, 1, 2}, 1024, true},
		{"huge length", []byte{'N', 0x7f, 0xff, 0xff, 0xff}, 1024, true},
		{"just above the bound", binary.BigEndian.AppendUint32([]byte{'S'}, maxMessageLen+1), 1024, true},
		{"notification above the buffer", wireNotify(1, "ch", string(bytes.Repeat([]byte{'p'}, 2000))), 1024, true},
		{"truncated header", notify[:3], 1024, false},
		{"truncated body", notify[:len(notify)-2], 1024, false},
		{"length that lies", lie, 1024, false},
	}
	for _, c := range cases {
		w := newWireReader(iotest.OneByteReader(bytes.NewReader(c.stream)), c.size)
		_, _, err := w.next()
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.proto != errors.Is(err, errProtocol):
			t.Errorf("%s: %v (protocol error expected: %v)", c.name, err, c.proto)
		}
	}
}

func TestParseNotification(t *testing.T) {
	ch, payload, err := parseNotification(wireNotify(42, "phoenix", "s.t:INSERT:1")[5:])
	if err != nil || string(ch) != "phoenix" || string(payload) != "s.t:INSERT:1" {
		t.Fatalf("got %q %q %v", ch, payload, err)
	}
	for _, body := range [][]byte{
		nil, {0, 0, 1}, {0, 0, 0, 1, 'c', 'h'}, {0, 0, 0, 1, 'c', 0, 'p'},
		{0, 0, 0, 1, 'c', 0, 'p', 0, 'x'}, {0, 0, 0, 1, 'c', 0, 'p', 0, 0}, {0, 0, 0, 1, 'c', 0},
	} {
		if _, _, err := parseNotification(body); !errors.Is(err, errProtocol) {
			t.Errorf("parseNotification(%q) = %v, want a protocol error", body, err)
		}
	}
}

func TestParseError(t *testing.T) {
	err := parseError(terminated()[5:])
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" || pgErr.Severity != "FATAL" || pgErr.Message == "" {
		t.Fatalf("parseError = %#v", err)
	}
	if err := parseError([]byte("Sunterminated")); !errors.Is(err, errProtocol) {
		t.Fatalf("malformed error response: %v", err)
	}
}

func TestWireReaderReady(t *testing.T) {
	a, b := wireNotify(1, "ch", "one"), wireNotify(1, "ch", "two")
	notice := wireMsg('N', cstr("Mx"), []byte{0})
	pr, pw := net.Pipe()
	defer pr.Close()
	w := newWireReader(pr, 1024)
	go func() {
		// One write is one read on a pipe: a, b and half of a notice, then the rest.
		_, _ = pw.Write(append(append(bytes.Clone(a), b...), notice[:4]...))
		_, _ = pw.Write(append(notice[4:], a...))
		_ = pw.Close()
	}()
	steps := []struct{ ready bool }{{true}, {false}} // after a: b is whole; after b: the notice is not
	if _, _, err := w.next(); err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if got := w.ready(); got != s.ready {
			t.Fatalf("step %d: ready() = %v", i, got)
		}
		if _, _, err := w.next(); err != nil {
			t.Fatal(err)
		}
	}
	if w.ready() {
		t.Fatal("ready() at the end of the stream")
	}
}

func TestWireReaderDoesNotAllocate(t *testing.T) {
	stream := bytes.Repeat(append(wireNotify(1, "ch", "public.t:INSERT:12345"), wireReady()...), 200)
	r := bytes.NewReader(stream)
	w := newWireReader(r, readBufferSize)
	allocs := testing.AllocsPerRun(50, func() {
		r.Reset(stream)
		w.r.Reset(r)
		w.done = 0
		for {
			typ, body, err := w.next()
			if err != nil {
				break
			}
			if typ == msgNotification {
				if _, _, err := parseNotification(body); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 400 messages", allocs)
	}
}

func TestAppendQuery(t *testing.T) {
	got := appendQuery([]byte("prefix"), "UNLISTEN *")
	want := append([]byte("prefix"), wireMsg('Q', cstr("UNLISTEN *"))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("appendQuery = %q, want %q", got, want)
	}
}

// FuzzWireReader feeds arbitrary streams, split into reads of arbitrary
// sizes, to the reader and the parsers: they must never panic, never
// return a body larger than the buffer, and end on an error.
func FuzzWireReader(f *testing.F) {
	stream, _ := everyType()
	f.Add(stream, uint8(0))
	f.Add(stream, uint8(1))
	f.Add(append(wireCommand("LISTEN"), wireReady()...), uint8(3))
	f.Add([]byte{'A', 0xff, 0xff, 0xff, 0xff}, uint8(0))
	f.Add(wireNotify(1, "ch", "p")[:9], uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, split uint8) {
		// Eight times the buffer reaches every path; longer inputs, read a
		// byte at a time, only slow the fuzzer down.
		stream = stream[:min(len(stream), 4<<10)]
		var r io.Reader = bytes.NewReader(stream)
		switch split % 4 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		case 3:
			r = &timeoutReader{r: iotest.OneByteReader(r)}
		}
		const size = 512
		w := newWireReader(r, size)
		// Every two calls consume at least one byte or end the stream.
		for range 4*len(stream) + 16 {
			_ = w.ready()
			typ, body, err := w.next()
			if isTimeout(err) {
				continue
			}
			if err != nil {
				return
			}
			if len(body)+5 > size {
				t.Fatalf("body of %d bytes from a %d-byte buffer", len(body), size)
			}
			switch typ {
			case msgNotification:
				_, _, _ = parseNotification(body)
			case msgErrorResponse:
				_ = parseError(body)
			}
		}
		t.Fatalf("no end after %d calls on %d bytes", 4*len(stream)+16, len(stream))
	})
}
