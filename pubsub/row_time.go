package pubsub

import (
	"errors"
	"fmt"
	"time"
)

// parseDateTime parses a date, timestamp or timestamptz as PostgreSQL
// prints it with DateStyle=ISO:
//
//	date         2024-02-29, 0044-03-15 BC, 5874897-12-31
//	timestamp    2024-02-29 13:34:56.5, 0044-03-15 12:00:00 BC
//	timestamptz  2024-02-29 13:34:56.5+00, 1900-01-01 00:00:00+05:53:28
//	any of them  infinity, -infinity
//
// It returns a time.Time (UTC, or the printed offset for timestamptz) or
// an [Infinity]. BC years become Go's astronomical years: 1 BC is year 0.
func parseDateTime(kind valueKind, text string) (any, error) {
	switch text {
	case "infinity":
		return PosInfinity, nil
	case "-infinity":
		return NegInfinity, nil
	}
	t, err := parseFiniteDateTime(kind, text)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", text, err)
	}
	return t, nil
}

// errDateTime is the one error of parseFiniteDateTime; parseDateTime adds
// the text.
var errDateTime = errors.New("not in PostgreSQL's ISO date/time output format")

// dtScanner reads the fixed-width numbers of a date/time text.
type dtScanner struct {
	s   string
	i   int
	bad bool
}

// num reads between min and max decimal digits.
func (p *dtScanner) num(min, max int) int {
	n, start := 0, p.i
	for p.i < len(p.s) && p.i-start < max && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i-start < min {
		p.bad = true
	}
	return n
}

// lit consumes c, or marks the text bad.
func (p *dtScanner) lit(c byte) {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return
	}
	p.bad = true
}

// peek reports whether the next byte is c.
func (p *dtScanner) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// parseFiniteDateTime parses a finite value (see parseDateTime).
func parseFiniteDateTime(kind valueKind, text string) (time.Time, error) {
	p := &dtScanner{s: text}
	// PostgreSQL's dates end in year 5874897: seven digits at most.
	year := p.num(4, 7)
	p.lit('-')
	month := p.num(2, 2)
	p.lit('-')
	day := p.num(2, 2)
	var hour, minute, sec, nsec int
	loc := time.UTC
	if kind != kindDate {
		p.lit(' ')
		hour = p.num(2, 2)
		p.lit(':')
		minute = p.num(2, 2)
		p.lit(':')
		sec = p.num(2, 2)
		if p.peek('.') {
			p.i++
			start := p.i
			frac := p.num(1, 6) // microseconds: PostgreSQL's resolution
			for d := p.i - start; d < 9; d++ {
				frac *= 10
			}
			nsec = frac
		}
		if kind == kindTimestamptz {
			off, ok := p.offset()
			if !ok {
				return time.Time{}, errDateTime
			}
			if off != 0 {
				loc = time.FixedZone("", off)
			}
		}
	}
	if year == 0 { // there is no year 0 in PostgreSQL: 1 BC precedes 1 AD
		return time.Time{}, errDateTime
	}
	if p.i < len(p.s) {
		if p.s[p.i:] != " BC" {
			return time.Time{}, errDateTime
		}
		p.i = len(p.s)
		// Go counts years astronomically: 1 BC is year 0, 2 BC is -1.
		year = 1 - year
	}
	if p.bad || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errDateTime
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day { // February 30th and the like normalise to another day
		return time.Time{}, errDateTime
	}
	return t, nil
}

// offset reads a UTC offset as PostgreSQL prints it: +HH, +HH:MM or
// +HH:MM:SS (or '-'), in seconds east of UTC.
func (p *dtScanner) offset() (int, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '+' && p.s[p.i] != '-' {
		return 0, false
	}
	sign := 1
	if p.s[p.i] == '-' {
		sign = -1
	}
	p.i++
	h := p.num(2, 2)
	var m, s int
	if p.peek(':') {
		p.i++
		m = p.num(2, 2)
		if p.peek(':') {
			p.i++
			s = p.num(2, 2)
		}
	}
	if p.bad || m > 59 || s > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + s), true
}
