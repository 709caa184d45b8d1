package where

import (
	"fmt"
	"strconv"
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

// cell is one column read from a row: its state and, when present, its
// value. Predicates evaluated on the same row share cells (an Index
// reads each column once per row).
type cell struct {
	loaded bool
	state  pubsub.ColumnState
	v      value
	err    error // the text did not parse
}

// rowVals is the evaluation state of one row.
type rowVals struct {
	r      *pubsub.Row
	cells  []cell
	colMap []int // predicate column -> cell; nil: the same index
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
	rv := rowVals{r: r, cells: make([]cell, len(p.cols))}
	ps := p.eval(p.root, &rv)
	return ps, rv.err
}

// holdsIn is Holds on cells shared with other predicates.
func (p *Pred) holdsIn(rv *rowVals, colMap []int) (bool, error) {
	rv.colMap = colMap
	ps := p.eval(p.root, rv)
	switch {
	case rv.err != nil:
		return false, rv.err
	case ps == pT:
		return true, nil
	case ps&pT == 0:
		return false, nil
	}
	return false, p.missingErr(rv.r)
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

// load reads column i of the predicate from the row: its state, and its
// value when present.
func (p *Pred) load(i int, rv *rowVals) (*value, pubsub.ColumnState) {
	j := i
	if rv.colMap != nil {
		j = rv.colMap[i]
	}
	c := &rv.cells[j]
	if !c.loaded {
		bc := &p.cols[i]
		rv.loadCell(c, bc.Name, &bc.t)
	}
	if c.err != nil && rv.err == nil {
		rv.err = c.err
	}
	return &c.v, c.state
}

// loadCell reads column name of type t into c.
func (rv *rowVals) loadCell(c *cell, name string, t *colType) {
	c.loaded, c.err = true, nil
	text, ok := rv.r.Text(name)
	if !ok {
		c.state = rv.r.State(name)
		c.v = value{null: true}
		return
	}
	c.state = pubsub.Present
	if t.kind == kInt && !t.array {
		// The routing hot path (tenant_id = $1): set the fields integers
		// use rather than build and copy a whole value.
		n, err := strconv.ParseInt(text, 10, 64)
		c.v.null, c.v.isDec, c.v.i, c.v.raw = false, false, n, text
		if err != nil {
			c.err = fmt.Errorf("where: column %q: %q is not an integer", name, text)
		}
		return
	}
	var err error
	if t.array {
		c.v = value{}
		c.v.arr, err = parseArrayText(*t, text, false)
	} else {
		c.v, err = parseScalar(*t, text, false)
	}
	if err != nil {
		c.err = fmt.Errorf("where: column %q: %v", name, err)
	}
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
	return one(p.leaf(n, v, st))
}
