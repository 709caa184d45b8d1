package where

import (
	"math"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// leaf evaluates a condition on one column whose value the row holds.
func (p *Pred) leaf(n *node, v *value, st pubsub.ColumnState) Tri {
	t := &p.cols[n.col].t
	switch n.op {
	case nIsNull:
		return tri(st == pubsub.Null != n.not)
	case nBoolCol:
		if v.null {
			return Null
		}
		return tri(v.i == 1)
	case nCmp:
		c := n.vals[0]
		if v.null || c.null {
			return Null
		}
		return tri(n.cmp.holds(cmpVal(t, v, &c)))
	case nIn:
		if v.null {
			if len(n.vals) == 0 {
				return tri(n.not)
			}
			return Null
		}
		res := False
		for i := range n.vals {
			c := &n.vals[i]
			if c.null {
				res = Null
				continue
			}
			if cmpVal(t, v, c) == 0 {
				res = True
				break
			}
		}
		if n.not && res != Null {
			res = tri(res == False)
		}
		return res
	case nBetween:
		lo, hi := &n.vals[0], &n.vals[1]
		if v.null {
			return Null
		}
		var a, b Tri = Null, Null
		if !lo.null {
			a = tri(cmpVal(t, v, lo) >= 0)
		}
		if !hi.null {
			b = tri(cmpVal(t, v, hi) <= 0)
		}
		if n.not {
			return or2(not(a), not(b))
		}
		return and2(a, b)
	case nLike:
		if v.null {
			return Null
		}
		s := v.raw
		if n.fold {
			s = asciiLower(s)
		}
		return tri(likeMatch(n.like, s) != n.not)
	case nAnyArr:
		c := &n.vals[0]
		if v.null {
			return Null
		}
		if c.null {
			// Nothing to compare with: false for an empty array.
			if len(v.arr) == 0 {
				return False
			}
			return Null
		}
		res := False
		et := t.elem()
		for i := range v.arr {
			e := &v.arr[i]
			if e.null {
				res = Null
				continue
			}
			if cmpVal(&et, e, c) == 0 {
				return True
			}
		}
		return res
	case nContains:
		if v.null || n.constNull {
			return Null
		}
		et := t.elem()
	outer:
		for i := range n.vals {
			c := &n.vals[i]
			if c.null {
				return False
			}
			for j := range v.arr {
				if e := &v.arr[j]; !e.null && cmpVal(&et, e, c) == 0 {
					continue outer
				}
			}
			return False
		}
		return True
	}
	return Null
}

func tri(b bool) Tri {
	if b {
		return True
	}
	return False
}

func not(t Tri) Tri {
	switch t {
	case True:
		return False
	case False:
		return True
	}
	return t
}

func and2(a, b Tri) Tri {
	if a == False || b == False {
		return False
	}
	if a == Null || b == Null {
		return Null
	}
	return True
}

func or2(a, b Tri) Tri {
	if a == True || b == True {
		return True
	}
	if a == Null || b == Null {
		return Null
	}
	return False
}

// cmpVal compares two non-NULL values of type t.
func cmpVal(t *colType, a, b *value) int {
	switch t.kind {
	case kInt:
		if a.isDec || b.isDec {
			return cmpDec(a.asDec(), b.asDec())
		}
		return cmpInt(a.i, b.i)
	case kNumeric:
		return cmpDec(a.d, b.d)
	case kFloat4, kFloat8:
		return cmpFloat(a.f, b.f)
	case kText, kBpchar, kUUID:
		return strings.Compare(a.s, b.s)
	}
	return cmpInt(a.i, b.i)
}

// asDec returns an integer column's value as a dec.
func (v *value) asDec() dec {
	if v.isDec {
		return v.d
	}
	return decOfInt(v.i)
}

// cmpFloat compares as float8's btree operators do: NaN equals NaN and
// sorts above everything, -0 equals 0.
func cmpFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
