package where

func (b *binder) any(e *Expr) (*node, error) {
	l, r := e.Args[0], e.Args[1]
	if r.Kind == KindColumn {
		// const = ANY(array_col)
		i, t, err := b.subject(r, "= ANY")
		if err != nil {
			return nil, err
		}
		if !t.array {
			return nil, errAt(ErrType, r.Pos, "column "+quoteIdent(r.Name), "= ANY (column) needs an array column, the column is %s", t.name())
		}
		if l.Kind == KindNumber && t.kind == kInt {
			if _, ok := mustDec(l.Text).int64(); !ok {
				return nil, errAt(ErrUnsupported, l.Pos, describeExpr(l), "only integer literals compare with an integer array")
			}
		}
		v, err := b.constant(l, t.elem(), "= ANY")
		if err != nil {
			return nil, err
		}
		n := &node{op: nAnyArr, col: i, vals: []value{v}, constNull: v.null}
		return n, nil
	}
	// col = ANY(const array): an IN list.
	i, t, err := b.subject(l, "= ANY")
	if err != nil {
		return nil, err
	}
	if t.array {
		return nil, errAt(ErrUnsupported, l.Pos, "column "+quoteIdent(l.Name), "= ANY on an array column compares arrays, which is not supported")
	}
	at, err := t.arrayOf()
	if err != nil {
		return nil, errAt(ErrType, l.Pos, "column "+quoteIdent(l.Name), "%v", err)
	}
	vals, null, err := b.arrayConst(r, at, "= ANY")
	if err != nil {
		return nil, err
	}
	if null {
		return &node{op: nConst, tri: Null}, nil
	}
	return &node{op: nIn, col: i, vals: vals}, nil
}

func (b *binder) contains(e *Expr) (*node, error) {
	l, r := e.Args[0], e.Args[1]
	i, t, err := b.subject(l, "@>")
	if err != nil {
		return nil, err
	}
	if !t.array {
		return nil, errAt(ErrType, l.Pos, "column "+quoteIdent(l.Name), "@> needs an array column, the column is %s", t.name())
	}
	vals, null, err := b.arrayConst(r, t, "@>")
	if err != nil {
		return nil, err
	}
	return &node{op: nContains, col: i, vals: vals, constNull: null}, nil
}

// arrayConst binds an array literal or parameter of array type t.
func (b *binder) arrayConst(e *Expr, t colType, what string) ([]value, bool, error) {
	var text string
	kind := ErrType
	switch e.Kind {
	case KindNull:
		return nil, true, nil
	case KindString:
		text = e.Text
	case KindParam:
		if e.Param > len(b.params) {
			return nil, false, errAt(ErrParam, e.Pos, describeExpr(e), "missing: %d parameters given", len(b.params))
		}
		text, kind = b.params[e.Param-1], ErrParam
	case KindColumn:
		return nil, false, errAt(ErrUnsupported, e.Pos, describeExpr(e), "comparing two columns is not supported in %s", what)
	default:
		return nil, false, errAt(ErrType, e.Pos, describeExpr(e), "%s needs an array string or parameter", what)
	}
	vals, err := parseArrayText(t, text, true)
	if err != nil {
		return nil, false, errAt(kind, e.Pos, describeExpr(e), "not a valid %s: %v", t.name(), err)
	}
	b.setConst(e, renderArray(vals))
	return vals, false, nil
}

func mustDec(s string) dec {
	d, _ := parseDec(s)
	return d
}
