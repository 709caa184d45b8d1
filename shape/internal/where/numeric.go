package where

import (
	"fmt"
	"strings"
)

// dec is an exact decimal: numeric's values and every integer, compared
// without rounding. A finite value is sign × ip.fp, with no leading zero
// in ip and no trailing zero in fp (zero has sign 0, ip and fp empty).
// Parsing a row's text needs no allocation: ip and fp are substrings.
type dec struct {
	special decSpecial
	sign    int8
	ip, fp  string
}

type decSpecial uint8

const (
	decFinite decSpecial = iota
	decNaN
	decPosInf
	decNegInf
)

// Bounds of an input value: numeric holds 131072 digits before the point
// and 16383 after.
const (
	maxIntDigits  = 131072
	maxFracDigits = 16383
)

// parseDec parses text as numeric_in does: surrounding white space, a
// sign, digits with an optional point, an optional exponent, or NaN and
// [+-]Infinity/inf in any case.
func parseDec(text string) (dec, error) {
	s := text
	if len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ' || s[0] == '\t' || s[0] == '\n' || s[len(s)-1] == '\n' || s[len(s)-1] == '\t') {
		s = strings.TrimSpace(s)
	}
	if len(s) > 0 && (s[len(s)-1] < '0' || s[len(s)-1] > '9') && s[len(s)-1] != '.' {
		switch strings.ToLower(s) {
		case "nan":
			return dec{special: decNaN}, nil
		case "infinity", "+infinity", "inf", "+inf":
			return dec{special: decPosInf}, nil
		case "-infinity", "-inf":
			return dec{special: decNegInf}, nil
		}
	}
	bad := func() (dec, error) { return dec{}, fmt.Errorf("invalid input syntax for type numeric: %q", text) }
	i := 0
	var x dec
	x.sign = 1
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			x.sign = -1
		}
		i++
	}
	is := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	ip := s[is:i]
	fp := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fp = s[fs:i]
	}
	if ip == "" && fp == "" {
		return bad()
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return bad()
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i >= len(s) {
			return bad()
		}
		e := 0
		for ; i < len(s); i++ {
			if !isDigit(s[i]) {
				return bad()
			}
			e = e*10 + int(s[i]-'0')
			if e > 1000000 {
				return dec{}, fmt.Errorf("value overflows numeric format: %q", text)
			}
		}
		if eneg {
			e = -e
		}
		// Move the point by e: all digits, then the point's new place.
		all := ip + fp
		pos := len(ip) + e
		switch {
		case pos <= 0:
			ip, fp = "", strings.Repeat("0", -pos)+all
		case pos >= len(all):
			ip, fp = all+strings.Repeat("0", pos-len(all)), ""
		default:
			ip, fp = all[:pos], all[pos:]
		}
	}
	x.ip = strings.TrimLeft(ip, "0")
	x.fp = strings.TrimRight(fp, "0")
	if x.ip == "" && x.fp == "" {
		return dec{}, nil
	}
	if len(x.ip) > maxIntDigits || len(fp) > maxFracDigits+1000 {
		return dec{}, fmt.Errorf("value overflows numeric format: %q", text)
	}
	return x, nil
}

// decOfInt returns n as a dec.
func decOfInt(n int64) dec {
	if n == 0 {
		return dec{}
	}
	x := dec{sign: 1}
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
	x.ip = string(buf[i:])
	return x
}

// int64 returns x as an int64 when it is an integer in range.
func (x dec) int64() (int64, bool) {
	if x.special != decFinite || x.fp != "" || len(x.ip) > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(x.ip); i++ {
		u = u*10 + uint64(x.ip[i]-'0')
	}
	if x.sign >= 0 {
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
	m := cmpInt(int64(len(a.ip)), int64(len(b.ip)))
	if m == 0 {
		m = strings.Compare(a.ip, b.ip)
	}
	if m == 0 {
		m = strings.Compare(a.fp, b.fp)
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
	s := x.ip
	if s == "" {
		s = "0"
	}
	if x.fp != "" {
		s += "." + x.fp
	}
	if x.sign < 0 {
		s = "-" + s
	}
	return s
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
	return x.String()
}
