package where

import (
	"math"
	"strconv"
)

// ordKey is a value's sort key for the range index: a number whose order
// never contradicts cmpVal's. ordKey(a) < ordKey(b) implies a < b; equal
// keys say nothing, and cmpVal decides. Kept beside a bound in the index,
// it settles most comparisons without reading the bound's value (and, for
// numeric and text, the bytes it points to): a walk over 100,000 ranges
// missed the cache at every one of those reads.
type ordKey uint64

// keyFor returns v's ordKey as a value of t: numbers by their nearest
// float64 (rounding is monotonic, and NaN, which sorts above everything,
// shares +Inf's key), text by its first 8 bytes, other kinds by their
// integer.
func keyFor(t *colType, v *value) ordKey {
	switch t.kind {
	case kInt:
		if v.isDec {
			return floatKey(decFloat(v.d))
		}
		return floatKey(float64(v.i))
	case kNumeric:
		return floatKey(decFloat(v.d))
	case kFloat4, kFloat8:
		return floatKey(v.f)
	case kText, kBpchar, kUUID:
		return prefixKey(v.s)
	}
	return ordKey(uint64(v.i) ^ 1<<63)
}

// cmpKeyed compares a (whose key is ak) with b (key bk) as cmpVal does,
// reading the values only when the keys tie.
func cmpKeyed(t *colType, ak ordKey, a *value, bk ordKey, b *value) int {
	switch {
	case ak < bk:
		return -1
	case ak > bk:
		return 1
	}
	return cmpVal(t, a, b)
}

// floatKey maps f to an integer of the same order: -0 and 0 share a key,
// NaN has +Inf's.
func floatKey(f float64) ordKey {
	switch {
	case math.IsNaN(f):
		f = math.Inf(1)
	case f == 0:
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ordKey(^b)
	}
	return ordKey(b | 1<<63)
}

// decFloat returns the float64 nearest x; beyond float64's range, the
// infinity of x's sign.
func decFloat(x dec) float64 {
	switch x.special {
	case decNegInf:
		return math.Inf(-1)
	case decPosInf, decNaN:
		return math.Inf(1)
	}
	if x.sign == 0 {
		return 0
	}
	var buf [48]byte
	b := buf[:0]
	if x.sign < 0 {
		b = append(b, '-')
	}
	if x.ip == "" {
		b = append(b, '0')
	}
	b = append(b, x.ip...)
	if x.fp != "" {
		b = append(b, '.')
		b = append(b, x.fp...)
	}
	// The text is a well-formed decimal: ParseFloat can only report a
	// range error, with the correctly signed infinity or zero.
	f, _ := strconv.ParseFloat(string(b), 64)
	return f
}

// prefixKey is s's first 8 bytes, big-endian, zero-padded: byte order
// of the prefixes is byte order of the strings where they differ.
func prefixKey(s string) ordKey {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return ordKey(k)
}
