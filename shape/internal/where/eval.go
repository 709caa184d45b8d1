package where

import (
	"fmt"
	"math"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// missing is Eval's fourth truth value inside the tree: a column the row
// does not hold. AND and OR still decide when another operand settles the
// result (false AND missing is false).
const missing Tri = 3

// rowVals holds the values of a predicate's columns read from one row.
type rowVals struct {
	r      *pubsub.Row
	loaded []bool
	vals   []value
	state  []pubsub.ColumnState
	err    error
}

// Eval evaluates the predicate on r with PostgreSQL's three-valued logic.
// It returns an error wrapping [ErrNoValue] when the result depends on a
// column that r holds as Absent or UnchangedTOAST (the caller fetches the
// row and evaluates that), and an error when a column's text does not
// parse as its type. It does not block and is safe for concurrent use.
func (p *Pred) Eval(r *pubsub.Row) (Tri, error) {
	var loaded [8]bool
	var vals [8]value
	var state [8]pubsub.ColumnState
	rv := rowVals{r: r, loaded: loaded[:0], vals: vals[:0], state: state[:0]}
	if n := len(p.cols); n <= 8 {
		rv.loaded, rv.vals, rv.state = loaded[:n], vals[:n], state[:n]
	} else {
		rv.loaded, rv.vals, rv.state = make([]bool, n), make([]value, n), make([]pubsub.ColumnState, n)
	}
	t := p.eval(p.root, &rv)
	if rv.err != nil {
		return Null, rv.err
	}
	if t == missing {
		var names []string
		for i, c := range p.cols {
			if rv.loaded[i] && rv.state[i] != pubsub.Present && rv.state[i] != pubsub.Null {
				names = append(names, fmt.Sprintf("%q (%v)", c.Name, rv.state[i]))
			}
		}
		return Null, fmt.Errorf("%w: %s", ErrNoValue, strings.Join(names, ", "))
	}
	return t, nil
}

// load reads column i of the row: its state, and its value when present.
func (p *Pred) load(i int, rv *rowVals) (value, pubsub.ColumnState) {
	if rv.loaded[i] {
		return rv.vals[i], rv.state[i]
	}
	rv.loaded[i] = true
	c := &p.cols[i]
	st := rv.r.State(c.Name)
	rv.state[i] = st
	if st != pubsub.Present {
		rv.vals[i] = value{null: true}
		return rv.vals[i], st
	}
	text, _ := rv.r.Text(c.Name)
	var v value
	var err error
	if c.t.array {
		var a any
		if a, err = rv.r.Value(c.Name); err == nil {
			var elems []value
			elems, err = arrayValues(c.t.elem(), a)
			v.arr = elems
		}
	} else {
		v, err = parseScalar(c.t, text, false)
	}
	if err != nil && rv.err == nil {
		rv.err = fmt.Errorf("where: column %q: %v", c.Name, err)
	}
	rv.vals[i] = v
	return v, st
}

func (p *Pred) eval(n *node, rv *rowVals) Tri {
	switch n.op {
	case nAnd:
		res := True
		for _, k := range n.kids {
			switch p.eval(k, rv) {
			case False:
				return False
			case Null:
				if res == True {
					res = Null
				}
			case missing:
				res = missing
			}
		}
		return res
	case nOr:
		res := False
		for _, k := range n.kids {
			switch p.eval(k, rv) {
			case True:
				return True
			case Null:
				if res == False {
					res = Null
				}
			case missing:
				res = missing
			}
		}
		return res
	case nNot:
		switch t := p.eval(n.kids[0], rv); t {
		case True:
			return False
		case False:
			return True
		default:
			return t
		}
	case nConst:
		return n.tri
	case nIsTri:
		t := p.eval(n.kids[0], rv)
		if t == missing {
			return missing
		}
		return tri(t == n.tri != n.not)
	}
	v, st := p.load(n.col, rv)
	switch st {
	case pubsub.Present, pubsub.Null:
	default:
		return missing
	}
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
		return tri(n.cmp.holds(cmpVal(t, &v, &c)))
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
			if cmpVal(t, &v, c) == 0 {
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
			a = tri(cmpVal(t, &v, lo) >= 0)
		}
		if !hi.null {
			b = tri(cmpVal(t, &v, hi) <= 0)
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
		if v.null || c.null {
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

// cmpVal compares two non-NULL values of type t: a row's value a with a
// constant b.
func cmpVal(t *colType, a, b *value) int {
	switch t.kind {
	case kInt:
		if b.isDec {
			return cmpDec(decOfInt(a.i), b.d)
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
