package where

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Infinite dates and timestamps: beyond every finite value of the kind.
const (
	negInfinity = math.MinInt64
	posInfinity = math.MaxInt64
)

// Limits of PostgreSQL's finite values: dates 4713-11-24 BC (Julian day 0)
// to 5874897-12-31, timestamps 4713 BC to 294276-12-31 23:59:59.999999.
var (
	minDay   = time.Date(-4712, 11, 24, 0, 0, 0, 0, time.UTC).Unix() / 86400
	maxDay   = time.Date(5874897, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400
	minMicro = pgMicros(time.Date(-4712, 11, 24, 0, 0, 0, 0, time.UTC))
	maxMicro = pgMicros(time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)) - 1
)

// pgEpoch is PostgreSQL's epoch, 2000-01-01 UTC, in Unix seconds.
const pgEpoch = 946684800

// pgMicros returns microseconds since 2000-01-01 UTC, as PostgreSQL keeps
// timestamps (since 1970 would overflow int64 before year 294276).
func pgMicros(t time.Time) int64 {
	return (t.Unix()-pgEpoch)*1e6 + int64(t.Nanosecond()/1000)
}

// parseDateTime parses a date (days since 1970-01-01) or a timestamp
// (microseconds since 2000-01-01 UTC). It takes the ISO 8601 forms
// PostgreSQL prints and reads:
//
//	2024-02-29                      date
//	2024-02-29 13:34:56.123456      timestamp ('T' in place of the space too)
//	2024-02-29 13:34:56+05:30       timestamptz (+HH, +HHMM, +HH:MM[:SS], Z)
//	0044-03-15 BC, infinity, -infinity
//
// From a caller's text it refuses, rather than guess as the server would
// from its DateStyle and TimeZone: other orders and month names, a
// timestamptz without an offset, an offset on a timestamp, time on a
// date, more than six fractional digits.
func parseDateTime(k kind, text string, input bool) (int64, error) {
	s := text
	if input {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "infinity", "+infinity":
			return posInfinity, nil
		case "-infinity":
			return negInfinity, nil
		}
	} else {
		switch s {
		case "infinity":
			return posInfinity, nil
		case "-infinity":
			return negInfinity, nil
		}
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a %s in ISO 8601 form (%s)", text, k, why)
	}
	p := &dtScanner{s: s}
	year := p.num(4, 7)
	p.lit('-')
	month := p.num(2, 2)
	p.lit('-')
	day := p.num(2, 2)
	var hour, minute, sec, usec int
	off := 0
	if k != kDate {
		if p.peek('T') || p.peek(' ') || p.peek('t') {
			p.i++
			hour = p.num(2, 2)
			p.lit(':')
			minute = p.num(2, 2)
			if p.peek(':') {
				p.i++
				sec = p.num(2, 2)
				if p.peek('.') {
					p.i++
					start := p.i
					usec = p.num(1, 6)
					for d := p.i - start; d < 6; d++ {
						usec *= 10
					}
					if p.i < len(p.s) && isDigit(p.s[p.i]) {
						return 0, bad("more than six fractional digits")
					}
				}
			}
		} else if !p.bad && input && k == kTimestamptz {
			return 0, bad("a timestamp with time zone needs a time and an offset")
		}
		hasOff := p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-' || p.s[p.i] == 'Z' || p.s[p.i] == 'z')
		switch {
		case k == kTimestamptz && !hasOff && !p.bad:
			return 0, bad("no UTC offset: the server would apply its TimeZone")
		case k == kTimestamp && hasOff:
			return 0, bad("a timestamp without time zone takes no offset")
		case hasOff:
			o, ok := p.offset()
			if !ok {
				return 0, bad("bad UTC offset")
			}
			off = o
		}
	}
	if p.bad || year == 0 {
		return 0, bad("expected YYYY-MM-DD")
	}
	if p.i < len(p.s) {
		if p.s[p.i:] != " BC" && !(input && strings.EqualFold(p.s[p.i:], " bc")) {
			return 0, bad("unexpected " + fmt.Sprintf("%q", p.s[p.i:]))
		}
		year = 1 - year
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return 0, bad("field out of range")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, time.UTC)
	if t.Day() != day {
		return 0, bad("no such day")
	}
	if k == kDate {
		d := t.Unix() / 86400
		if t.Unix() < 0 && t.Unix()%86400 != 0 {
			d--
		}
		if d < minDay || d > maxDay {
			return 0, fmt.Errorf("date out of range: %q", text)
		}
		return d, nil
	}
	us := pgMicros(t) - int64(off)*1e6
	if us < minMicro || us > maxMicro {
		return 0, fmt.Errorf("timestamp out of range: %q", text)
	}
	return us, nil
}

// formatDateTime writes a value of parseDateTime in ISO form (UTC for
// timestamptz), which the server reads back as the same value.
func formatDateTime(k kind, n int64) string {
	switch n {
	case posInfinity:
		return "infinity"
	case negInfinity:
		return "-infinity"
	}
	var t time.Time
	if k == kDate {
		t = time.Unix(n*86400, 0).UTC()
	} else {
		t = time.Unix(pgEpoch+n/1e6, n%1e6*1000).UTC()
	}
	y := t.Year()
	bc := ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	s := fmt.Sprintf("%04d-%02d-%02d", y, t.Month(), t.Day())
	if k != kDate {
		s += fmt.Sprintf(" %02d:%02d:%02d.%06d", t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
		if k == kTimestamptz {
			s += "+00"
		}
	}
	return s + bc
}

// dtScanner reads the fixed-width numbers of a date/time text.
type dtScanner struct {
	s   string
	i   int
	bad bool
}

func (p *dtScanner) num(min, max int) int {
	n, start := 0, p.i
	for p.i < len(p.s) && p.i-start < max && isDigit(p.s[p.i]) {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i-start < min {
		p.bad = true
	}
	return n
}

func (p *dtScanner) lit(c byte) {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return
	}
	p.bad = true
}

func (p *dtScanner) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// offset reads Z, +HH, +HHMM, +HH:MM or +HH:MM:SS, in seconds east of UTC.
func (p *dtScanner) offset() (int, bool) {
	if p.peek('Z') || p.peek('z') {
		p.i++
		return 0, true
	}
	sign := 1
	if p.peek('-') {
		sign = -1
	}
	p.i++
	h := p.num(2, 2)
	var m, s int
	switch {
	case p.peek(':'):
		p.i++
		m = p.num(2, 2)
		if p.peek(':') {
			p.i++
			s = p.num(2, 2)
		}
	case p.i+1 < len(p.s) && isDigit(p.s[p.i]):
		m = p.num(2, 2)
	}
	if p.bad || h > 15 || m > 59 || s > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + s), true
}
