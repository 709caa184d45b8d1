package cluster

import (
	"errors"
	"strings"
)

// errBadToken reports a subject token that escapeToken cannot have made.
var errBadToken = errors.New("cluster: malformed subject token")

// resyncToken is the last token of the Resync subject. Change subjects
// have one more token, so no table can collide with it.
const resyncToken = "_resync"

// messageToken is the token before a logical message's prefix. Message
// subjects have one more token than change subjects, so neither can
// collide with the other.
const messageToken = "_message"

// escapeToken turns an identifier into a NATS subject token: letters,
// digits, '-' and '_' stay, every other byte (the '.', wildcards,
// whitespace, non-ASCII) becomes '~' and two upper-case hex digits.
// The empty string becomes "~" alone, so a token is never empty.
func escapeToken(s string) string {
	if s == "" {
		return "~"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('~')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

// unescapeToken is the inverse of escapeToken.
func unescapeToken(t string) (string, error) {
	switch t {
	case "~":
		return "", nil
	case "":
		return "", errBadToken
	}
	if !strings.Contains(t, "~") {
		for i := 0; i < len(t); i++ {
			if !plainByte(t[i]) {
				return "", errBadToken
			}
		}
		return t, nil
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case plainByte(c):
			b.WriteByte(c)
		case c == '~' && i+2 < len(t):
			hi, ok1 := unhex(t[i+1])
			lo, ok2 := unhex(t[i+2])
			// An escaped plain byte is a second token for the same
			// identifier, which escapeToken never writes.
			if v := hi<<4 | lo; !ok1 || !ok2 || plainByte(v) {
				return "", errBadToken
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			return "", errBadToken
		}
	}
	return b.String(), nil
}

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// unhex accepts only the upper-case digits escapeToken writes, so that
// every identifier has exactly one token.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// changeSubject returns <prefix>.<schema>.<table> with both escaped.
func changeSubject(prefix, schema, table string) string {
	return prefix + "." + escapeToken(schema) + "." + escapeToken(table)
}

// resyncSubject returns <prefix>._resync.
func resyncSubject(prefix string) string { return prefix + "." + resyncToken }

// messageSubject returns <prefix>._message.<message prefix>, escaped.
func messageSubject(prefix, msgPrefix string) string {
	return prefix + "." + messageToken + "." + escapeToken(msgPrefix)
}
