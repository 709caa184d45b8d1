package pubsub

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ArrayDim is one dimension of an [Array].
type ArrayDim struct {
	// Len is the number of elements along the dimension (at least 1).
	Len int
	// Lower is the subscript of its first element: 1 unless the array was
	// given other bounds, as in '[0:2]={7,8,9}'.
	Lower int
}

// Array is a PostgreSQL array as [Row.Value] returns it: its shape and
// its elements, each decoded by the value table of its element type.
// '{{1,2},{3,4}}'::int4[] is Dims [{2 1} {2 1}] and Elems [1 2 3 4] (all
// int32); '[0:2]={7,8,9}' is Dims [{3 0}]; '{}' has no Dims and no Elems.
type Array struct {
	// Dims are the dimensions, outermost first; empty for an empty array.
	Dims []ArrayDim
	// Elems are the elements in row-major order (the last subscript
	// varies fastest, as unnest returns them); nil for a NULL element.
	Elems []any
}

// At returns the element at the given subscripts (one per dimension, each
// counted from its dimension's lower bound, as in SQL); false when they
// are out of range or not one per dimension.
func (a Array) At(subscripts ...int) (any, bool) {
	if len(subscripts) != len(a.Dims) || len(a.Dims) == 0 {
		return nil, false
	}
	pos := 0
	for d, s := range subscripts {
		i := s - a.Dims[d].Lower
		if i < 0 || i >= a.Dims[d].Len {
			return nil, false
		}
		pos = pos*a.Dims[d].Len + i
	}
	return a.Elems[pos], true
}

// maxArrayDims is PostgreSQL's MAXDIM: no array has more dimensions.
const maxArrayDims = 6

// parseArray parses an array as array_out prints it: '{}' or nested
// braces of elements separated by delim, an optional '[l:u]...=' prefix
// when a lower bound is not 1, elements quoted with backslash escapes when
// they hold special characters, and unquoted NULL for a NULL element. It
// also takes the whitespace array_in allows. Each element is decoded as
// kind says.
func parseArray(text string, delim byte, kind valueKind) (Array, error) {
	p := arrayParser{s: text, delim: delim, kind: kind, leaf: -1}
	for d := range p.lens {
		p.lens[d] = -1
	}
	a, err := p.parse()
	if err != nil {
		if p.i > len(p.s) {
			p.i = len(p.s)
		}
		return Array{}, fmt.Errorf("array at byte %d: %v", p.i, err)
	}
	return a, nil
}

// arrayParser holds parseArray's state.
type arrayParser struct {
	s     string
	i     int
	delim byte
	kind  valueKind
	lens  [maxArrayDims]int // element count at each depth; -1 until known
	leaf  int               // depth whose braces hold the elements; -1 until known
	elems []any
	buf   strings.Builder // an element with escapes
}

// errArraySyntax says the text is not an array.
var errArraySyntax = errors.New("malformed array")

func (p *arrayParser) parse() (Array, error) {
	p.space()
	decl, err := p.bounds()
	if err != nil {
		return Array{}, err
	}
	if !p.peek('{') {
		return Array{}, fmt.Errorf("%w: no '{'", errArraySyntax)
	}
	if err := p.level(0); err != nil {
		return Array{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return Array{}, fmt.Errorf("%w: text after the closing '}'", errArraySyntax)
	}
	if p.leaf < 0 { // '{}'
		if decl != nil {
			return Array{}, fmt.Errorf("%w: bounds given for an empty array", errArraySyntax)
		}
		return Array{}, nil
	}
	dims := make([]ArrayDim, p.leaf+1)
	for d := range dims {
		dims[d] = ArrayDim{Len: p.lens[d], Lower: 1}
	}
	if decl != nil {
		if len(decl) != len(dims) {
			return Array{}, fmt.Errorf("%w: %d bounds for %d dimensions", errArraySyntax, len(decl), len(dims))
		}
		for d := range dims {
			if decl[d].Len != dims[d].Len {
				return Array{}, fmt.Errorf("%w: dimension %d has %d elements, its bounds say %d", errArraySyntax, d+1, dims[d].Len, decl[d].Len)
			}
		}
		dims = decl
	}
	return Array{Dims: dims, Elems: p.elems}, nil
}

// bounds reads an optional '[l:u][l:u]...=' prefix ('[u]' means '[1:u]').
func (p *arrayParser) bounds() ([]ArrayDim, error) {
	if !p.peek('[') {
		return nil, nil
	}
	var dims []ArrayDim
	for p.peek('[') {
		if len(dims) == maxArrayDims {
			return nil, fmt.Errorf("%w: more than %d dimensions", errArraySyntax, maxArrayDims)
		}
		p.i++
		lower, upper := int64(1), p.int()
		if p.peek(':') {
			p.i++
			lower, upper = upper, p.int()
		}
		if !p.peek(']') {
			return nil, fmt.Errorf("%w: bad bounds", errArraySyntax)
		}
		p.i++
		if upper < lower || lower < math.MinInt32 || upper > math.MaxInt32 {
			return nil, fmt.Errorf("%w: bounds %d:%d", errArraySyntax, lower, upper)
		}
		dims = append(dims, ArrayDim{Len: int(upper - lower + 1), Lower: int(lower)})
	}
	p.space()
	if !p.peek('=') {
		return nil, fmt.Errorf("%w: no '=' after the bounds", errArraySyntax)
	}
	p.i++
	p.space()
	return dims, nil
}

// int reads a signed decimal integer of at most 10 digits (int32's
// range is checked by the caller); a bad one makes bounds fail.
func (p *arrayParser) int() int64 {
	start := p.i
	if p.peek('-') || p.peek('+') {
		p.i++
	}
	digits := p.i
	for p.i < len(p.s) && p.i-digits < 10 && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		return math.MaxInt64 // fails the range check
	}
	return n
}

// level reads one pair of braces at depth (the '{' is next).
func (p *arrayParser) level(depth int) error {
	if depth == maxArrayDims {
		return fmt.Errorf("%w: more than %d dimensions", errArraySyntax, maxArrayDims)
	}
	p.i++ // '{'
	p.space()
	if p.peek('}') {
		p.i++
		if depth > 0 || p.leaf >= 0 {
			return fmt.Errorf("%w: empty sub-array", errArraySyntax)
		}
		return nil
	}
	count := 0
	for {
		p.space()
		if p.peek('{') {
			if p.leaf >= 0 && p.leaf <= depth {
				return fmt.Errorf("%w: elements and sub-arrays mixed", errArraySyntax)
			}
			if err := p.level(depth + 1); err != nil {
				return err
			}
		} else {
			if p.leaf >= 0 && p.leaf != depth {
				return fmt.Errorf("%w: elements and sub-arrays mixed", errArraySyntax)
			}
			p.leaf = depth
			if err := p.element(); err != nil {
				return err
			}
		}
		count++
		p.space()
		if p.peek(p.delim) {
			p.i++
			continue
		}
		if p.peek('}') {
			p.i++
			break
		}
		return fmt.Errorf("%w: expected %q or '}'", errArraySyntax, p.delim)
	}
	switch p.lens[depth] {
	case -1:
		p.lens[depth] = count
	case count:
	default:
		return fmt.Errorf("%w: sub-arrays of different lengths", errArraySyntax)
	}
	return nil
}

// element reads one element, quoted or not, and decodes it.
func (p *arrayParser) element() error {
	var text string
	null := false
	if p.peek('"') {
		p.i++
		p.buf.Reset()
		for {
			if p.i >= len(p.s) {
				return fmt.Errorf("%w: unterminated quoted element", errArraySyntax)
			}
			c := p.s[p.i]
			p.i++
			if c == '"' {
				break
			}
			if c == '\\' {
				if p.i >= len(p.s) {
					return fmt.Errorf("%w: unterminated quoted element", errArraySyntax)
				}
				c = p.s[p.i]
				p.i++
			}
			p.buf.WriteByte(c)
		}
		text = p.buf.String()
	} else {
		start, end, escaped := p.i, p.i, false
		p.buf.Reset()
		for p.i < len(p.s) && p.s[p.i] != p.delim && p.s[p.i] != '}' {
			c := p.s[p.i]
			switch {
			case c == '{' || c == '"':
				return fmt.Errorf("%w: unexpected %q in an element", errArraySyntax, c)
			case c == '\\':
				if p.i+1 >= len(p.s) {
					return fmt.Errorf("%w: backslash at the end", errArraySyntax)
				}
				if !escaped {
					p.buf.WriteString(p.s[start:p.i])
					escaped = true
				}
				p.buf.WriteByte(p.s[p.i+1])
				p.i += 2
				end = p.buf.Len()
				continue
			case escaped:
				p.buf.WriteByte(c)
				if !arraySpace(c) {
					end = p.buf.Len()
				}
			case !arraySpace(c):
				end = p.i + 1
			}
			p.i++
		}
		// Trailing unescaped whitespace is not part of the element.
		if escaped {
			text = p.buf.String()[:end]
		} else {
			text = p.s[start:end]
		}
		if text == "" && !escaped {
			return fmt.Errorf("%w: empty unquoted element", errArraySyntax)
		}
		null = !escaped && strings.EqualFold(text, "NULL")
	}
	if null {
		p.elems = append(p.elems, nil)
		return nil
	}
	v, err := decodeScalar(p.kind, text)
	if err != nil {
		return fmt.Errorf("element %d: %v", len(p.elems)+1, err)
	}
	p.elems = append(p.elems, v)
	return nil
}

// space skips the whitespace array_in ignores around braces and elements.
func (p *arrayParser) space() {
	for p.i < len(p.s) && arraySpace(p.s[p.i]) {
		p.i++
	}
}

// peek reports whether the next byte is c.
func (p *arrayParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// arraySpace is array_isspace: the bytes array_out quotes and array_in
// trims.
func arraySpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}
