package pubsub

import (
	"fmt"
	"math/big"
	"strconv"
)

// Numeric is a PostgreSQL numeric value kept as the exact text the server
// printed: every digit, the scale (trailing zeros included), and NaN,
// Infinity and -Infinity. [Row.Value] returns one for numeric columns and
// array elements; it never goes through float64 unless asked to. The zero
// Numeric is 0. A Numeric is a small immutable value, safe to copy and to
// use concurrently.
type Numeric struct {
	text string // "" means "0"
}

// ParseNumeric returns the Numeric of s, which must be numeric's output
// form: an optional '-', decimal digits with an optional fraction
// ("-12.3400"), or "NaN", "Infinity", "-Infinity". It wraps [ErrValue]
// otherwise.
func ParseNumeric(s string) (Numeric, error) {
	if !validNumeric(s) {
		return Numeric{}, fmt.Errorf("%w: %q is not a numeric", ErrValue, s)
	}
	return Numeric{text: s}, nil
}

// validNumeric reports whether s is NaN, ±Infinity or
// -?(0|[1-9][0-9]*)(\.[0-9]+)? (so that a finite value is a JSON number).
func validNumeric(s string) bool {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return true
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || s[start] == '0' && i-start > 1 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		frac := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == frac {
			return false
		}
	}
	return i == len(s)
}

// String returns the value exactly as PostgreSQL printed it ("0" for the
// zero Numeric).
func (n Numeric) String() string {
	if n.text == "" {
		return "0"
	}
	return n.text
}

// IsNaN reports whether n is numeric's NaN.
func (n Numeric) IsNaN() bool { return n.text == "NaN" }

// IsInf reports whether n is an infinity, as [math.IsInf] does: sign > 0
// asks for Infinity, sign < 0 for -Infinity, 0 for either.
func (n Numeric) IsInf(sign int) bool {
	switch n.text {
	case "Infinity":
		return sign >= 0
	case "-Infinity":
		return sign <= 0
	}
	return false
}

// Float64 returns the float64 nearest to n. It is lossy: numeric holds up
// to 131072 digits before the point and 16383 after, float64 about 16
// significant digits; a value beyond float64's range becomes ±Inf. NaN and
// ±Infinity map to their float64 counterparts.
func (n Numeric) Float64() float64 {
	// A valid numeric text only fails with ErrRange, whose result (±Inf,
	// ±0) is the nearest float64 anyway.
	f, _ := strconv.ParseFloat(n.String(), 64)
	return f
}

// Rat returns n as an exact rational number; false for NaN and ±Infinity.
func (n Numeric) Rat() (*big.Rat, bool) {
	if n.IsNaN() || n.IsInf(0) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(n.String())
	return r, ok
}

// MarshalJSON writes a finite value as a JSON number with every digit of
// its text, and NaN, Infinity and -Infinity as JSON strings (JSON has no
// such numbers).
func (n Numeric) MarshalJSON() ([]byte, error) {
	s := n.String()
	if n.IsNaN() || n.IsInf(0) {
		return []byte(`"` + s + `"`), nil
	}
	return []byte(s), nil
}

// Infinity is a date or timestamp that is PostgreSQL's 'infinity' or
// '-infinity'. [Row.Value] returns it in place of a time.Time for such
// values, so they are never mistaken for a real date.
type Infinity int8

const (
	// NegInfinity is '-infinity': before every other date.
	NegInfinity Infinity = -1
	// PosInfinity is 'infinity': after every other date.
	PosInfinity Infinity = 1
)

// String returns "infinity" or "-infinity", as PostgreSQL prints them.
func (i Infinity) String() string {
	switch i {
	case PosInfinity:
		return "infinity"
	case NegInfinity:
		return "-infinity"
	}
	return "Infinity(" + strconv.Itoa(int(i)) + ")"
}

// MarshalText returns [Infinity.String], so that encoding/json writes
// "infinity" or "-infinity".
func (i Infinity) MarshalText() ([]byte, error) { return []byte(i.String()), nil }
