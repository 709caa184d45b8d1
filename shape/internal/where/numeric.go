package where

import (
	"fmt"
	"strings"
)

// dec is an exact decimal: numeric's values and every integer, compared
// without rounding. A finite value is sign × 0.digits × 10^exp with no
// leading or trailing zero in digits (zero has sign 0 and no digits).
type dec struct {
	special decSpecial
	sign    int8
	digits  string
	exp     int
}

type decSpecial uint8

const (
	decFinite decSpecial = iota
	decNaN
	decPosInf
	decNegInf
)

// maxDecExp bounds the exponent of an input value: numeric holds 131072
// digits before the point and 16383 after.
const (
	maxDecExp = 131072
	minDecExp = -16383
)

// parseDec parses text as numeric_in does: surrounding white space, a
// sign, digits with an optional point, an optional exponent, or NaN and
// [+-]Infinity/inf in any case.
func parseDec(text string) (dec, error) {
	s := strings.TrimSpace(text)
	switch strings.ToLower(s) {
	case "nan":
		return dec{special: decNaN}, nil
	case "infinity", "+infinity", "inf", "+inf":
		return dec{special: decPosInf}, nil
	case "-infinity", "-inf":
		return dec{special: decNegInf}, nil
	}
	bad := fmt.Errorf("invalid input syntax for type numeric: %q", text)
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var digits []byte
	pointExp := 0 // digits before the point
	seenPoint, any := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			any = true
			if len(digits) == 0 && c == '0' {
				if seenPoint {
					pointExp--
				}
				continue
			}
			digits = append(digits, c)
			if !seenPoint {
				pointExp++
			}
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			goto exp
		}
	}
exp:
	if !any {
		return dec{}, bad
	}
	e := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return dec{}, bad
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i >= len(s) {
			return dec{}, bad
		}
		for ; i < len(s); i++ {
			if !isDigit(s[i]) {
				return dec{}, bad
			}
			e = e*10 + int(s[i]-'0')
			if e > 1000000 {
				return dec{}, fmt.Errorf("value overflows numeric format: %q", text)
			}
		}
		if eneg {
			e = -e
		}
	}
	d := strings.TrimRight(string(digits), "0")
	if d == "" {
		return dec{}, nil
	}
	x := dec{sign: 1, digits: d, exp: pointExp + e}
	if neg {
		x.sign = -1
	}
	if x.exp > maxDecExp || x.exp < minDecExp-len(d) {
		return dec{}, fmt.Errorf("value overflows numeric format: %q", text)
	}
	return x, nil
}

// decOfInt returns n as a dec.
func decOfInt(n int64) dec {
	if n == 0 {
		return dec{}
	}
	var x dec
	x.sign = 1
	u := uint64(n)
	if n < 0 {
		x.sign = -1
		u = -u
	}
	var buf [20]byte
	i := len(buf)
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	x.exp = len(buf) - i
	x.digits = strings.TrimRight(string(buf[i:]), "0")
	return x
}

// int64 returns x as an int64 when it is an integer in range.
func (x dec) int64() (int64, bool) {
	if x.special != decFinite {
		return 0, false
	}
	if x.sign == 0 {
		return 0, true
	}
	if x.exp < len(x.digits) || x.exp > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < x.exp; i++ {
		c := byte('0')
		if i < len(x.digits) {
			c = x.digits[i]
		}
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if x.sign > 0 {
		if u > 1<<63-1 {
			return 0, false
		}
		return int64(u), true
	}
	if u > 1<<63 {
		return 0, false
	}
	return -int64(u), true
}

// rank orders the classes: -Infinity, finite, Infinity, NaN (numeric's
// NaN sorts above everything and equals itself).
func (x dec) rank() int {
	switch x.special {
	case decNegInf:
		return 0
	case decPosInf:
		return 2
	case decNaN:
		return 3
	}
	return 1
}

// cmpDec compares two decs as numeric's comparison does.
func cmpDec(a, b dec) int {
	if ra, rb := a.rank(), b.rank(); ra != rb || ra != 1 {
		return cmpInt(int64(ra), int64(rb))
	}
	if a.sign != b.sign {
		return cmpInt(int64(a.sign), int64(b.sign))
	}
	if a.sign == 0 {
		return 0
	}
	m := 0
	switch {
	case a.exp != b.exp:
		m = cmpInt(int64(a.exp), int64(b.exp))
	default:
		m = strings.Compare(a.digits, b.digits)
	}
	return m * int(a.sign)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String returns x as plain decimal text (no exponent).
func (x dec) String() string {
	switch x.special {
	case decNaN:
		return "NaN"
	case decPosInf:
		return "Infinity"
	case decNegInf:
		return "-Infinity"
	}
	if x.sign == 0 {
		return "0"
	}
	var b strings.Builder
	if x.sign < 0 {
		b.WriteByte('-')
	}
	switch {
	case x.exp <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -x.exp))
		b.WriteString(x.digits)
	case x.exp >= len(x.digits):
		b.WriteString(x.digits)
		b.WriteString(strings.Repeat("0", x.exp-len(x.digits)))
	default:
		b.WriteString(x.digits[:x.exp])
		b.WriteByte('.')
		b.WriteString(x.digits[x.exp:])
	}
	return b.String()
}

// key returns a text equal for equal values (the hash key of an index).
func (x dec) key() string {
	switch x.special {
	case decNaN:
		return "N"
	case decPosInf:
		return "+I"
	case decNegInf:
		return "-I"
	}
	if x.sign == 0 {
		return "0"
	}
	return fmt.Sprintf("%d:%d:%s", x.sign, x.exp, x.digits)
}
