package where

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// value is one scalar value of a column's kind, or NULL.
//
//	kInt                     i (or d when not an integer: a numeric literal)
//	kNumeric                 d
//	kFloat4, kFloat8         f
//	kText, kEnum label       s (kBpchar: trailing spaces dropped; raw keeps them)
//	kBool                    i: 0 or 1
//	kUUID                    s: the canonical text (sorts as the bytes do)
//	kDate                    i: days since 1970-01-01, ±MaxInt64 for ±infinity
//	kTimestamp(tz)           i: microseconds since 2000-01-01 UTC, likewise
//	kEnum                    i: the label's position
type value struct {
	null  bool
	isDec bool // kInt only: d holds a non-integral or out-of-range number
	i     int64
	f     float64
	d     dec
	s     string
	raw   string  // the canonical text, for rendering (a row's text as it came)
	arr   []value // an array's elements
}

// parseInput parses text as PostgreSQL's input function of t would (a
// parameter or a string literal), or explains why not.
func parseInput(t colType, text string) (value, error) {
	v, err := parseScalar(t, text, true)
	if err != nil {
		return value{}, err
	}
	return v, nil
}

// parseScalar parses text as a value of t; input is set for a caller's
// text (PostgreSQL's input rules), unset for a row's text (its output).
func parseScalar(t colType, text string, input bool) (value, error) {
	v, err := parseScalarOf(t, text, input)
	if !input {
		// A row's text is its own canonical form: no need to print again.
		v.raw = text
	}
	return v, err
}

func parseScalarOf(t colType, text string, input bool) (value, error) {
	switch t.kind {
	case kInt:
		s := text
		if input {
			s = strings.TrimSpace(s)
			s = strings.TrimPrefix(s, "+")
		}
		bits := 64
		switch t.oid {
		case oidInt2:
			bits = 16
		case oidInt4:
			bits = 32
		}
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return value{}, fmt.Errorf("value %q is out of range for type %s", text, t.name())
			}
			return value{}, fmt.Errorf("invalid input syntax for type %s: %q", t.name(), text)
		}
		if !input {
			return value{i: n}, nil
		}
		return value{i: n, raw: strconv.FormatInt(n, 10)}, nil
	case kNumeric:
		d, err := parseDec(text)
		if err != nil {
			return value{}, err
		}
		if !input {
			return value{d: d}, nil
		}
		return value{d: d, raw: d.String()}, nil
	case kFloat4, kFloat8:
		bits := 64
		if t.kind == kFloat4 {
			bits = 32
		}
		f, err := parseFloatInput(text, bits)
		if err != nil {
			return value{}, fmt.Errorf("%v for type %s", err, t.name())
		}
		if !input {
			return value{f: f}, nil
		}
		return value{f: f, raw: formatFloat(f, bits)}, nil
	case kText:
		if input && !validUTF8(text) {
			return value{}, fmt.Errorf("invalid byte sequence for encoding UTF8")
		}
		return value{s: text, raw: text}, nil
	case kBpchar:
		if input && !validUTF8(text) {
			return value{}, fmt.Errorf("invalid byte sequence for encoding UTF8")
		}
		return value{s: trimPad(text), raw: text}, nil
	case kEnum:
		n, ok := t.ordinal[text]
		if !ok {
			return value{}, fmt.Errorf("invalid input value for enum: %q", text)
		}
		return value{i: n, s: text, raw: text}, nil
	case kBool:
		b, ok := parseBool(text, input)
		if !ok {
			return value{}, fmt.Errorf("invalid input syntax for type boolean: %q", text)
		}
		v := value{raw: "false"}
		if b {
			v.i, v.raw = 1, "true"
		}
		return v, nil
	case kUUID:
		// Compared as the canonical text: lower-case hex with hyphens at
		// fixed places sorts as the 16 bytes do. A row's text is that.
		if !input && canonicalUUID(text) {
			return value{s: text}, nil
		}
		u, ok := parseUUID(text)
		if !ok {
			return value{}, fmt.Errorf("invalid input syntax for type uuid: %q", text)
		}
		c := formatUUID(u)
		return value{s: c, raw: c}, nil
	case kDate, kTimestamp, kTimestamptz:
		n, err := parseDateTime(t.kind, text, input)
		if err != nil {
			return value{}, err
		}
		if !input {
			return value{i: n}, nil
		}
		return value{i: n, raw: formatDateTime(t.kind, n)}, nil
	}
	return value{}, fmt.Errorf("unsupported type %s", t.name())
}

// validUTF8 reports whether s is valid UTF-8 without NUL (text cannot
// hold a zero byte).
func validUTF8(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// canonicalUUID reports whether s is in uuid_out's form.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// parseFloatInput parses float4in/float8in's input: decimal and exponent
// forms, NaN, [+-]Infinity and [+-]inf in any case, surrounding space.
// A value out of range, or a nonzero value that underflows to zero, is an
// error as on the server. Hexadecimal forms are refused.
func parseFloatInput(text string, bits int) (float64, error) {
	s := strings.TrimSpace(text)
	switch strings.ToLower(s) {
	case "nan", "+nan", "-nan":
		return math.NaN(), nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			return 0, fmt.Errorf("invalid input syntax %q", text)
		}
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q is out of range", text)
		}
		return 0, fmt.Errorf("invalid input syntax %q", text)
	}
	if f == 0 {
		mant := s
		if j := strings.IndexAny(s, "eE"); j >= 0 {
			mant = s[:j]
		}
		if strings.ContainsAny(mant, "123456789") {
			return 0, fmt.Errorf("%q is out of range", text)
		}
	}
	return f, nil
}

// formatFloat writes f so that the server reads back the same value.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// parseBool parses boolin's input: t/f from a row; from a caller any
// unambiguous prefix of true, false, yes, no, on, off, and 1, 0, in any
// case with surrounding space.
func parseBool(text string, input bool) (bool, bool) {
	if !input {
		switch text {
		case "t":
			return true, true
		case "f":
			return false, true
		}
		return false, false
	}
	s := strings.ToLower(strings.TrimSpace(text))
	if s == "" {
		return false, false
	}
	prefix := func(word string, min int) bool { return len(s) >= min && strings.HasPrefix(word, s) }
	switch {
	case prefix("true", 1), prefix("yes", 1), prefix("on", 2), s == "1":
		return true, true
	case prefix("false", 1), prefix("no", 1), prefix("off", 2), s == "0":
		return false, true
	}
	return false, false
}

// parseUUID parses uuid_in's input: 32 hex digits in any case, a hyphen
// allowed after any group of four, optionally in braces.
func parseUUID(text string) (string, bool) {
	s := text
	if strings.HasPrefix(s, "{") {
		if !strings.HasSuffix(s, "}") {
			return "", false
		}
		s = s[1 : len(s)-1]
	}
	var out [16]byte
	n := 0
	var hexbuf []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if n == 0 || n%4 != 0 || n == 32 || i+1 < len(s) && s[i+1] == '-' {
				return "", false
			}
			continue
		}
		if n >= 32 {
			return "", false
		}
		hexbuf = append(hexbuf, c)
		n++
	}
	if n != 32 {
		return "", false
	}
	if _, err := hex.Decode(out[:], hexbuf); err != nil {
		return "", false
	}
	return string(out[:]), true
}

// formatUUID writes 16 bytes in uuid_out's form.
func formatUUID(u string) string {
	h := hex.EncodeToString([]byte(u))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// render returns v as text for a bound parameter.
func (v value) render() string { return v.raw }
