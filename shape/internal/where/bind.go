package where

import (
	"math"
	"strconv"
)

// Bind resolves the columns of e against cols, types each literal and
// parameter by the column it is compared with, parses it as PostgreSQL's
// input function for that type would, and refuses what PostgreSQL would
// refuse (mismatched types) or the package cannot match exactly. params[n-1]
// is the text of $n. Errors are *[Error] matching [ErrUnknownColumn],
// [ErrType], [ErrParam] or [ErrUnsupported], naming the construct and its
// position. A parameter used in several places is parsed for each use.
func Bind(e *Expr, cols []Column, params []string) (*Pred, error) {
	if e == nil {
		return nil, errAt(ErrSyntax, 0, "clause", "no clause")
	}
	b := &binder{cols: cols, params: params, p: &Pred{}, index: map[string]int{}}
	root, err := b.cond(e)
	if err != nil {
		return nil, err
	}
	b.p.root = root
	b.p.compile(e, b)
	return b.p, nil
}

type binder struct {
	cols   []Column
	params []string
	p      *Pred
	index  map[string]int // column name -> Pred.cols position
	src    []Column       // the Column of each Pred.cols entry
	consts []boundConst   // literal or parameter -> bound text (the argument)
}

// column resolves a column reference.
func (b *binder) column(e *Expr) (int, colType, error) {
	if i, ok := b.index[e.Name]; ok {
		return i, b.p.cols[i].t, nil
	}
	for _, c := range b.cols {
		if c.Name != e.Name {
			continue
		}
		t, ok := typeOf(c)
		if !ok {
			return 0, t, errAt(ErrUnsupported, e.Pos, "column "+quoteIdent(e.Name), "its type (OID %d) is not supported", c.OID)
		}
		b.p.cols = append(b.p.cols, boundCol{Name: c.Name, t: t})
		b.src = append(b.src, c)
		b.index[e.Name] = len(b.p.cols) - 1
		return len(b.p.cols) - 1, t, nil
	}
	return 0, colType{}, errAt(ErrUnknownColumn, e.Pos, "column "+quoteIdent(e.Name), "the table has no such column")
}

// cond binds a condition.
func (b *binder) cond(e *Expr) (*node, error) {
	switch e.Kind {
	case KindAnd, KindOr:
		n := &node{op: nAnd}
		if e.Kind == KindOr {
			n.op = nOr
		}
		for _, a := range e.Args {
			k, err := b.cond(a)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case KindNot:
		k, err := b.cond(e.Args[0])
		if err != nil {
			return nil, err
		}
		return &node{op: nNot, kids: []*node{k}}, nil
	case KindBool:
		if e.Text == "true" {
			return &node{op: nConst, tri: True}, nil
		}
		return &node{op: nConst, tri: False}, nil
	case KindNull:
		return &node{op: nConst, tri: Null}, nil
	case KindColumn:
		i, t, err := b.column(e)
		if err != nil {
			return nil, err
		}
		if t.kind != kBool || t.array {
			return nil, errAt(ErrType, e.Pos, "column "+quoteIdent(e.Name), "a condition must be boolean, the column is %s", t.name())
		}
		return &node{op: nBoolCol, col: i}, nil
	case KindString, KindNumber, KindParam:
		return nil, errAt(ErrType, e.Pos, describeExpr(e), "a condition must be boolean")
	case KindCompare:
		return b.compare(e)
	case KindIn:
		return b.in(e)
	case KindBetween:
		return b.between(e)
	case KindLike:
		return b.like(e)
	case KindIs:
		return b.is(e)
	case KindAny:
		return b.any(e)
	case KindContains:
		return b.contains(e)
	}
	return nil, errAt(ErrUnsupported, e.Pos, describeExpr(e), "not supported")
}

func describeExpr(e *Expr) string {
	switch e.Kind {
	case KindColumn:
		return "column " + quoteIdent(e.Name)
	case KindString:
		return "string " + quoteString(e.Text)
	case KindNumber:
		return "number " + e.Text
	case KindParam:
		return "parameter $" + strconv.Itoa(e.Param)
	case KindBool:
		return e.Text
	case KindNull:
		return "NULL"
	case KindAnd:
		return "AND"
	case KindOr:
		return "OR"
	case KindNot:
		return "NOT"
	case KindCompare:
		return "operator " + e.Op
	case KindAny:
		return "= ANY"
	case KindContains:
		return "operator @>"
	case KindIn:
		return "IN"
	case KindBetween:
		return "BETWEEN"
	case KindLike:
		return e.Op
	case KindIs:
		return "IS"
	}
	return "expression"
}

// subject binds the column side of a comparison-like condition.
func (b *binder) subject(e *Expr, what string) (int, colType, error) {
	if e.Kind != KindColumn {
		if e.isOperand() {
			return 0, colType{}, errAt(ErrUnsupported, e.Pos, describeExpr(e), "the left operand of %s must be a column", what)
		}
		return 0, colType{}, errAt(ErrType, e.Pos, describeExpr(e), "the operand of %s must be a column, not a condition", what)
	}
	i, t, err := b.column(e)
	if err != nil {
		return 0, t, err
	}
	if t.nondet && t.kind.isTextual() {
		return 0, t, errAt(ErrType, e.Pos, "column "+quoteIdent(e.Name), "its collation %q is nondeterministic: comparisons on it are not supported", b.src[i].Collation)
	}
	return i, t, nil
}

// constant binds a literal or parameter compared with a column of type
// t. numLit tells how a numeric literal compares: true when it keeps its
// own type (numeric), as PostgreSQL's operators then compare exactly.
func (b *binder) constant(e *Expr, t colType, what string) (value, error) {
	switch e.Kind {
	case KindNull:
		return value{null: true}, nil
	case KindString:
		v, err := parseInput(t, e.Text)
		if err != nil {
			return value{}, errAt(ErrType, e.Pos, describeExpr(e), "%v", err)
		}
		b.setConst(e, v.render())
		return v, nil
	case KindParam:
		if e.Param > len(b.params) {
			return value{}, errAt(ErrParam, e.Pos, describeExpr(e), "missing: %d parameters given", len(b.params))
		}
		v, err := parseInput(t, b.params[e.Param-1])
		if err != nil {
			return value{}, errAt(ErrParam, e.Pos, describeExpr(e), "not a valid %s: %v", t.name(), err)
		}
		b.setConst(e, v.render())
		return v, nil
	case KindNumber:
		d, err := parseDec(e.Text)
		if err != nil {
			return value{}, errAt(ErrType, e.Pos, describeExpr(e), "%v", err)
		}
		switch t.kind {
		case kInt:
			if n, ok := d.int64(); ok {
				return value{i: n, raw: e.Text}, nil
			}
			return value{isDec: true, d: d, raw: e.Text}, nil
		case kNumeric:
			return value{d: d, raw: e.Text}, nil
		case kFloat4, kFloat8:
			// A numeric literal meets a float column as double precision
			// (float4 = numeric resolves to float48eq).
			f, err := strconv.ParseFloat(e.Text, 64)
			if err != nil || math.IsInf(f, 0) {
				return value{}, errAt(ErrType, e.Pos, describeExpr(e), "out of range for type double precision")
			}
			if f == 0 && d.sign != 0 {
				return value{}, errAt(ErrType, e.Pos, describeExpr(e), "out of range for type double precision")
			}
			return value{f: f, raw: e.Text}, nil
		}
		return value{}, errAt(ErrType, e.Pos, describeExpr(e), "a number cannot be compared with %s", t.name())
	case KindBool:
		if t.kind != kBool {
			return value{}, errAt(ErrType, e.Pos, describeExpr(e), "a boolean cannot be compared with %s", t.name())
		}
		if e.Text == "true" {
			return value{i: 1, raw: "true"}, nil
		}
		return value{raw: "false"}, nil
	case KindColumn:
		return value{}, errAt(ErrUnsupported, e.Pos, describeExpr(e), "comparing two columns is not supported in %s", what)
	}
	return value{}, errAt(ErrType, e.Pos, describeExpr(e), "a condition cannot be an operand of %s", what)
}

// ordered refuses an ordering comparison the package cannot match.
func (b *binder) ordered(e *Expr, i int, t colType, what string) error {
	if t.kind.isTextual() && !t.cOrder {
		c := b.src[i]
		coll := c.Collation
		if coll == "" {
			coll = "the column's default"
		}
		return errAt(ErrType, e.Pos, what+" on column "+quoteIdent(c.Name),
			"text ordering is supported only for the C or POSIX collation (byte order); the column's collation is %s", coll)
	}
	return nil
}

func (b *binder) compare(e *Expr) (*node, error) {
	l, r := e.Args[0], e.Args[1]
	op := cmpOps[e.Op]
	if l.Kind != KindColumn && r.Kind == KindColumn {
		l, r, op = r, l, op.flip()
	}
	i, t, err := b.subject(l, "operator "+e.Op)
	if err != nil {
		return nil, err
	}
	if t.array {
		return nil, errAt(ErrUnsupported, e.Pos, "operator "+e.Op+" on array column "+quoteIdent(l.Name), "arrays support @> and = ANY only")
	}
	if op != opEq && op != opNe {
		if err := b.ordered(e, i, t, "operator "+e.Op); err != nil {
			return nil, err
		}
	}
	v, err := b.constant(r, t, "operator "+e.Op)
	if err != nil {
		return nil, err
	}
	return &node{op: nCmp, col: i, cmp: op, vals: []value{v}}, nil
}

func (b *binder) in(e *Expr) (*node, error) {
	i, t, err := b.subject(e.Args[0], "IN")
	if err != nil {
		return nil, err
	}
	if t.array {
		return nil, errAt(ErrUnsupported, e.Pos, "IN on array column "+quoteIdent(e.Args[0].Name), "arrays support @> and = ANY only")
	}
	var numLit, other bool
	for _, a := range e.Args[1:] {
		switch a.Kind {
		case KindNumber:
			numLit = true
		case KindString, KindParam:
			other = true
		}
	}
	if numLit && other && (t.kind == kInt || t.kind == kFloat4) {
		return nil, errAt(ErrUnsupported, e.Pos, "IN list", "a list mixing numeric literals with strings or parameters takes a common type the package does not reproduce; write all values alike")
	}
	n := &node{op: nIn, col: i, not: e.Not}
	for _, a := range e.Args[1:] {
		v, err := b.constant(a, t, "IN")
		if err != nil {
			return nil, err
		}
		n.vals = append(n.vals, v)
	}
	return n, nil
}

func (b *binder) between(e *Expr) (*node, error) {
	i, t, err := b.subject(e.Args[0], "BETWEEN")
	if err != nil {
		return nil, err
	}
	if t.array {
		return nil, errAt(ErrUnsupported, e.Pos, "BETWEEN on array column "+quoteIdent(e.Args[0].Name), "arrays support @> and = ANY only")
	}
	if err := b.ordered(e, i, t, "BETWEEN"); err != nil {
		return nil, err
	}
	n := &node{op: nBetween, col: i, not: e.Not}
	for _, a := range e.Args[1:] {
		v, err := b.constant(a, t, "BETWEEN")
		if err != nil {
			return nil, err
		}
		n.vals = append(n.vals, v)
	}
	return n, nil
}

func (b *binder) like(e *Expr) (*node, error) {
	i, t, err := b.subject(e.Args[0], e.Op)
	if err != nil {
		return nil, err
	}
	if !t.kind.isTextual() || t.array {
		return nil, errAt(ErrType, e.Pos, e.Op+" on column "+quoteIdent(e.Args[0].Name), "%s applies to text columns, the column is %s", e.Op, t.name())
	}
	fold := e.Op == "ILIKE"
	if fold && !t.cOrder {
		c := b.src[i]
		return nil, errAt(ErrType, e.Pos, "ILIKE on column "+quoteIdent(c.Name),
			"ILIKE is supported only for the C or POSIX collation (ASCII case folding); the column's collation is %q", c.Collation)
	}
	text := colType{kind: kText, oid: oidText}
	pat, err := b.constant(e.Args[1], text, e.Op)
	if err != nil {
		return nil, err
	}
	n := &node{op: nLike, col: i, not: e.Not, fold: fold}
	esc := value{s: `\`}
	if len(e.Args) > 2 {
		if esc, err = b.constant(e.Args[2], text, "ESCAPE"); err != nil {
			return nil, err
		}
	}
	if pat.null || esc.null {
		return &node{op: nConst, tri: Null}, nil
	}
	if n.like, err = compileLike(pat.s, esc.s, fold); err != nil {
		return nil, errAt(ErrType, e.Args[1].Pos, describeExpr(e.Args[1]), "%v", err)
	}
	return n, nil
}

func (b *binder) is(e *Expr) (*node, error) {
	a := e.Args[0]
	if a.Kind == KindColumn && e.Op == "NULL" {
		i, _, err := b.column(a)
		if err != nil {
			return nil, err
		}
		return &node{op: nIsNull, col: i, not: e.Not}, nil
	}
	if e.Op == "NULL" && a.isOperand() && a.Kind != KindNull && a.Kind != KindBool {
		return nil, errAt(ErrUnsupported, a.Pos, describeExpr(a)+" IS NULL", "IS NULL applies to a column or a condition")
	}
	k, err := b.cond(a)
	if err != nil {
		return nil, err
	}
	n := &node{op: nIsTri, kids: []*node{k}, not: e.Not}
	if k.op == nBoolCol {
		n.col = k.col // the column an index files "b IS TRUE" under
	}
	switch e.Op {
	case "TRUE":
		n.tri = True
	case "FALSE":
		n.tri = False
	default: // NULL, UNKNOWN
		n.tri = Null
	}
	return n, nil
}
