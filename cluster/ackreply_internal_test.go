package cluster

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseAckReply(t *testing.T) {
	for _, c := range []struct {
		reply        string
		seq, pending uint64
		ok           bool
	}{
		{"$JS.ACK.S.C.1.42.7.1700000000000000000.3", 42, 3, true},
		{"$JS.ACK._.HASH.S.C.1.42.7.1700000000000000000.3.rnd", 42, 3, true},
		{"$JS.ACK._.HASH.S.C.1.42.7.1700000000000000000.3", 42, 3, true},
		{"$JS.ACK.S.C.1.x.7.1.3", 0, 0, false},
		{"$JS.ACK.S.C.1.42.7.1", 0, 0, false},
		{"$JS.ACK.a.b.S.C.1.42.7.1", 0, 0, false}, // 10 tokens
		{"_INBOX.x.y", 0, 0, false},
		{"", 0, 0, false},
	} {
		seq, pending, ok := parseAckReply(c.reply)
		if seq != c.seq || pending != c.pending || ok != c.ok {
			t.Errorf("parseAckReply(%q) = %d, %d, %v; want %d, %d, %v", c.reply, seq, pending, ok, c.seq, c.pending, c.ok)
		}
	}
}

// refAckReply is parseAckReply written plainly, to compare with.
func refAckReply(reply string) (uint64, uint64, bool) {
	tok := strings.Split(reply, ".")
	if len(tok) < 2 || tok[0] != "$JS" || tok[1] != "ACK" {
		return 0, 0, false
	}
	var s, p string
	switch {
	case len(tok) == 9:
		s, p = tok[5], tok[8]
	case len(tok) >= 11:
		s, p = tok[7], tok[10]
	default:
		return 0, 0, false
	}
	num := func(x string) (uint64, bool) {
		if x == "" || len(x) > 19 || strings.TrimLeft(x, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseUint(x, 10, 64)
		return n, err == nil
	}
	seq, ok1 := num(s)
	pending, ok2 := num(p)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return seq, pending, true
}

// FuzzAckReply: parseAckReply never panics and agrees with a plain
// split-based reading.
func FuzzAckReply(f *testing.F) {
	f.Add("$JS.ACK.S.C.1.42.7.1700000000000000000.3")
	f.Add("$JS.ACK._.HASH.S.C.1.42.7.1700000000000000000.3.rnd")
	f.Add("$JS.ACK...........")
	f.Fuzz(func(t *testing.T, reply string) {
		s1, p1, ok1 := parseAckReply(reply)
		s2, p2, ok2 := refAckReply(reply)
		if s1 != s2 || p1 != p2 || ok1 != ok2 {
			t.Fatalf("%q: got %d, %d, %v; reference %d, %d, %v", reply, s1, p1, ok1, s2, p2, ok2)
		}
	})
}
