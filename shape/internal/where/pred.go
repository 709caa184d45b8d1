package where

import (
	"fmt"
	"strings"
)

// Tri is a three-valued truth value: SQL's true, false and NULL.
type Tri uint8

const (
	False Tri = iota
	True
	Null
)

// String returns "false", "true" or "null".
func (t Tri) String() string {
	switch t {
	case False:
		return "false"
	case True:
		return "true"
	case Null:
		return "null"
	}
	return fmt.Sprintf("Tri(%d)", uint8(t))
}

// nodeOp is the operation of a bound node.
type nodeOp uint8

const (
	nAnd      nodeOp = iota // kids
	nOr                     // kids
	nNot                    // kids[0]
	nConst                  // tri
	nBoolCol                // col
	nCmp                    // col cmp vals[0]
	nIn                     // col IN vals (not: NOT IN)
	nBetween                // col BETWEEN vals[0] AND vals[1] (not)
	nLike                   // col LIKE like (not)
	nIsNull                 // col IS NULL (not)
	nIsTri                  // kids[0] IS TRUE/FALSE/UNKNOWN: tri is the state tested (not)
	nAnyArr                 // vals[0] = ANY(col), col an array
	nContains               // col @> vals (array const: vals, null: constNull)
)

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOps = map[string]cmpOp{"=": opEq, "<>": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

// flip returns the operator with its operands swapped (5 < c is c > 5).
func (o cmpOp) flip() cmpOp {
	switch o {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return o
}

// holds applies the operator to a comparison result.
func (o cmpOp) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// node is a bound condition.
type node struct {
	op        nodeOp
	not       bool
	cmp       cmpOp
	tri       Tri
	col       int // index into Pred.cols
	kids      []*node
	vals      []value
	constNull bool // the constant operand is NULL (nContains, nAnyArr)
	like      []likeTok
	fold      bool // ILIKE: fold the subject's ASCII case
}

// boundCol is a column the predicate reads.
type boundCol struct {
	Column
	t colType
}

// Pred is a bound WHERE clause: typed, its parameters parsed, ready to
// evaluate on rows and to render as SQL. It is immutable and safe for
// concurrent use.
type Pred struct {
	expr   *Expr
	cols   []boundCol
	root   *node
	consts []boundConst // literal or parameter -> bound text (the argument)
	normal string
}

// boundConst is the text a literal or parameter is bound to.
type boundConst struct {
	e    *Expr
	text string
}

func (p *Pred) setConst(e *Expr, text string) {
	for i := range p.consts {
		if p.consts[i].e == e {
			p.consts[i].text = text
			return
		}
	}
	p.consts = append(p.consts, boundConst{e, text})
}

func (p *Pred) constText(e *Expr) (string, bool) {
	for i := range p.consts {
		if p.consts[i].e == e {
			return p.consts[i].text, true
		}
	}
	return "", false
}

// Columns returns the names of the columns the predicate reads, in order
// of first use.
func (p *Pred) Columns() []string {
	out := make([]string, len(p.cols))
	for i, c := range p.cols {
		out[i] = c.Name
	}
	return out
}

// SQL renders the predicate again from its syntax tree, every column
// name through quoteIdent and every string literal and parameter as a
// placeholder $firstArg, $firstArg+1, ... whose value, in args, is the
// text of the value as the package parsed it (numeric literals, TRUE,
// FALSE and NULL are written inline). The caller's text never reaches the
// result. Placeholders take the type of the column they are compared
// with, as in the clause.
func (p *Pred) SQL(quoteIdent func(string) string, firstArg int) (string, []any) {
	var b strings.Builder
	var args []any
	p.expr.render(&b, quoteIdent, func(e *Expr) string {
		switch e.Kind {
		case KindString, KindParam:
			t, ok := p.constText(e)
			if !ok {
				return ""
			}
			args = append(args, t)
			return fmt.Sprintf("$%d", firstArg+len(args)-1)
		}
		return ""
	})
	return b.String(), args
}

// Normal returns a normalised text of the predicate: equal for clauses
// that differ only in spacing, keyword case, redundant parentheses and
// the spelling of values, and the parameters substituted. Shapes with
// equal Normal texts (on the same table) have the same rows.
func (p *Pred) Normal() string { return p.normal }

func (p *Pred) computeNormal() string {
	var b strings.Builder
	p.expr.render(&b, quoteIdent, func(e *Expr) string {
		switch e.Kind {
		case KindString, KindParam:
			if t, ok := p.constText(e); ok {
				return quoteString(t)
			}
		}
		return ""
	})
	return b.String()
}
