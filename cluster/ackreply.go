package cluster

import "strings"

// parseAckReply reads the stream sequence and the consumer's pending
// count from a JetStream message's reply subject, as
// jetstream.Msg.Metadata does, without allocating: the follower reads
// them for every message. The subject is
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
//
// or, from newer servers, with <domain>.<account hash> before <stream>
// and any tokens after <pending> (at least 11 tokens in all). ok is false
// for anything else; the caller then falls back to Metadata.
func parseAckReply(reply string) (seq, pending uint64, ok bool) {
	rest, found := strings.CutPrefix(reply, "$JS.ACK.")
	if !found {
		return 0, 0, false
	}
	tokens := strings.Count(reply, ".") + 1
	skip := 0 // tokens between "$JS.ACK." and <sseq>
	switch {
	case tokens == 9:
		skip = 3 // stream, consumer, delivered
	case tokens >= 11:
		skip = 5 // domain, account hash, stream, consumer, delivered
	default:
		return 0, 0, false
	}
	for range skip {
		_, rest, _ = strings.Cut(rest, ".")
	}
	var tok string
	tok, rest, _ = strings.Cut(rest, ".")
	if seq, ok = parseNum(tok); !ok {
		return 0, 0, false
	}
	_, rest, _ = strings.Cut(rest, ".") // consumer sequence
	_, rest, _ = strings.Cut(rest, ".") // timestamp
	tok, _, _ = strings.Cut(rest, ".")
	if pending, ok = parseNum(tok); !ok {
		return 0, 0, false
	}
	return seq, pending, true
}

// parseNum parses a non-empty run of decimal digits that fits in 64 bits.
func parseNum(s string) (uint64, bool) {
	if s == "" || len(s) > 19 { // 19 digits always fit
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
