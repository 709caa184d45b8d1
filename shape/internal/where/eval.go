package where

import (
	"fmt"
	"math"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// poss is a set of possible truth values: one for a decided condition,
// several when a column the condition reads is not in the row. AND and OR
// still decide when another operand settles the result (false AND
// unknown is false).
type poss uint8

const (
	pF   poss = 1 << False
	pT   poss = 1 << True
	pN   poss = 1 << Null
	pAll      = pF | pT | pN
)

func one(t Tri) poss { return 1 << t }

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
	ps, err := p.run(r)
	if err != nil {
		return Null, err
	}
	switch ps {
	case pF:
		return False, nil
	case pT:
		return True, nil
	case pN:
		return Null, nil
	}
	return Null, p.missingErr(r)
}

// Holds reports whether the predicate is True for r: true when it is,
// false when it cannot be (false or NULL, or so whatever the columns r
// lacks hold), and an error wrapping [ErrNoValue] when it may be True but
// depends on a column r holds as Absent or UnchangedTOAST.
func (p *Pred) Holds(r *pubsub.Row) (bool, error) {
	ps, err := p.run(r)
	switch {
	case err != nil:
		return false, err
	case ps == pT:
		return true, nil
	case ps&pT == 0:
		return false, nil
	}
	return false, p.missingErr(r)
}

func (p *Pred) run(r *pubsub.Row) (poss, error) {
	var loaded [8]bool
	var vals [8]value
	var state [8]pubsub.ColumnState
	var rv rowVals
	rv.r = r
	if n := len(p.cols); n <= 8 {
		rv.loaded, rv.vals, rv.state = loaded[:n], vals[:n], state[:n]
	} else {
		rv.loaded, rv.vals, rv.state = make([]bool, n), make([]value, n), make([]pubsub.ColumnState, n)
	}
	ps := p.eval(p.root, &rv)
	return ps, rv.err
}

// missingErr names the columns the predicate reads that r lacks.
func (p *Pred) missingErr(r *pubsub.Row) error {
	var names []string
	for _, c := range p.cols {
		if st := r.State(c.Name); st != pubsub.Present && st != pubsub.Null {
			names = append(names, fmt.Sprintf("%q (%v)", c.Name, st))
		}
	}
	return fmt.Errorf("%w: %s", ErrNoValue, strings.Join(names, ", "))
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
		v.arr, err = parseArrayText(c.t, text, false)
	} else {
		v, err = parseScalar(c.t, text, false)
	}
	if err != nil && rv.err == nil {
		rv.err = fmt.Errorf("where: column %q: %v", c.Name, err)
	}
	rv.vals[i] = v
	return v, st
}

func (p *Pred) eval(n *node, rv *rowVals) poss {
	switch n.op {
	case nAnd:
		// F if any is F; T if all are T; N if none is F and one is N.
		anyF, allT, allTN, anyN := false, true, true, false
		for _, k := range n.kids {
			ps := p.eval(k, rv)
			if ps == pF {
				return pF
			}
			anyF = anyF || ps&pF != 0
			allT = allT && ps&pT != 0
			allTN = allTN && ps&(pT|pN) != 0
			anyN = anyN || ps&pN != 0
		}
		var out poss
		if anyF {
			out |= pF
		}
		if allT {
			out |= pT
		}
		if allTN && anyN {
			out |= pN
		}
		return out
	case nOr:
		anyT, allF, allFN, anyN := false, true, true, false
		for _, k := range n.kids {
			ps := p.eval(k, rv)
			if ps == pT {
				return pT
			}
			anyT = anyT || ps&pT != 0
			allF = allF && ps&pF != 0
			allFN = allFN && ps&(pF|pN) != 0
			anyN = anyN || ps&pN != 0
		}
		var out poss
		if anyT {
			out |= pT
		}
		if allF {
			out |= pF
		}
		if allFN && anyN {
			out |= pN
		}
		return out
	case nNot:
		ps := p.eval(n.kids[0], rv)
		return ps&pN | (ps&pF)<<1 | (ps&pT)>>1
	case nConst:
		return one(n.tri)
	case nIsTri:
		ps := p.eval(n.kids[0], rv)
		var out poss
		if ps&one(n.tri) != 0 {
			out |= pT
		}
		if ps&^one(n.tri) != 0 {
			out |= pF
		}
		if n.not {
			out = (out&pF)<<1 | (out&pT)>>1
		}
		return out
	}
	v, st := p.load(n.col, rv)
	switch st {
	case pubsub.Present, pubsub.Null:
	default:
		return pAll
	}
	return one(p.leaf(n, &v, st))
}

// leaf evaluates a condition on one column whose value the row holds.
func (p *Pred) leaf(n *node, vp *value, st pubsub.ColumnState) Tri {
	v := *vp
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
