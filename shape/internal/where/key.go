package where

import "math"

// hkey is a hash key of a value: equal for values PostgreSQL's equality
// of the column's type calls equal (1.0 = 1 in numeric, -0 = 0 and
// NaN = NaN in floats, trailing spaces in char(n)).
type hkey struct {
	n int64
	s string
}

// keyOf returns v's hash key for type t; false for a value no row value
// of the column can equal (1.5 against an integer column) or NULL.
func keyOf(t *colType, v *value) (hkey, bool) {
	if v.null {
		return hkey{}, false
	}
	switch t.kind {
	case kInt:
		if v.isDec {
			return hkey{}, false
		}
		return hkey{n: v.i}, true
	case kNumeric:
		return hkey{s: v.d.key()}, true
	case kFloat4, kFloat8:
		f := v.f
		switch {
		case math.IsNaN(f):
			return hkey{s: "NaN"}, true
		case f == 0:
			f = 0
		}
		return hkey{n: int64(math.Float64bits(f))}, true
	case kText, kBpchar, kUUID:
		return hkey{s: v.s}, true
	}
	return hkey{n: v.i}, true
}

// hmap is a hash table of buckets by hkey: integer-like keys in a map of
// int64 (cheaper to hash), the others by string.
type hmap struct {
	n map[int64]*bucket
	s map[string]*bucket
}

func (m *hmap) len() int { return len(m.n) + len(m.s) }

func (m *hmap) get(k hkey) *bucket {
	if k.s == "" {
		return m.n[k.n]
	}
	return m.s[k.s]
}

// put returns the bucket of k, made if missing.
func (m *hmap) put(k hkey) *bucket {
	if b := m.get(k); b != nil {
		return b
	}
	b := &bucket{}
	if k.s == "" {
		if m.n == nil {
			m.n = map[int64]*bucket{}
		}
		m.n[k.n] = b
	} else {
		if m.s == nil {
			m.s = map[string]*bucket{}
		}
		m.s[k.s] = b
	}
	return b
}

func (m *hmap) del(k hkey) {
	if k.s == "" {
		delete(m.n, k.n)
	} else {
		delete(m.s, k.s)
	}
}

// each calls fn for every bucket.
func (m *hmap) each(fn func(*bucket)) {
	for _, b := range m.n {
		fn(b)
	}
	for _, b := range m.s {
		fn(b)
	}
}
