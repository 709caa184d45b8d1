package where

import (
	"strings"
)

// maxDepth bounds the nesting of a clause, so a hostile text cannot
// exhaust the stack.
const maxDepth = 200

// maxLen bounds the length of a clause.
const maxLen = 64 << 10

// Parse parses a WHERE clause (without the WHERE keyword). It checks the
// syntax only; [Bind] checks names and types. Keywords are
// case-insensitive, unquoted names are folded to lower case as PostgreSQL
// does, "quoted" names keep their case. Every error is an *[Error] with
// the byte position of the offending construct, matching [ErrSyntax] or
// [ErrUnsupported].
func Parse(src string) (*Expr, error) {
	if len(src) > maxLen {
		return nil, errAt(ErrUnsupported, maxLen, "length", "a clause is at most %d bytes", maxLen)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return e, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) take() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the unquoted word w.
func (p *parser) keyword(w string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == w
}

func (p *parser) accept(w string) bool {
	if p.keyword(w) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(w string) error {
	if !p.accept(w) {
		t := p.peek()
		return errAt(ErrSyntax, t.pos, describe(t), "expected %s", strings.ToUpper(w))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of clause"
	case tString:
		return "string " + quoteString(t.text)
	case tQIdent:
		return "name " + quoteIdent(t.text)
	}
	return strings.ToUpper(t.text)
}

func (p *parser) unexpected(t token) error {
	if t.kind == tEOF {
		return errAt(ErrSyntax, t.pos, "end of clause", "unexpected end of clause")
	}
	if t.kind == tIdent {
		if c, ok := unsupportedWords[t.text]; ok {
			return errAt(ErrUnsupported, t.pos, c, "not supported")
		}
	}
	return errAt(ErrSyntax, t.pos, describe(t), "unexpected %s", describe(t))
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(ErrUnsupported, p.peek().pos, "nesting", "nested deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) or() (*Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.chain("or", KindOr, p.and)
}

func (p *parser) and() (*Expr, error) { return p.chain("and", KindAnd, p.not) }

// chain parses next {word next}, flattening into one node.
func (p *parser) chain(word string, kind ExprKind, next func() (*Expr, error)) (*Expr, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	if !p.keyword(word) {
		return first, nil
	}
	e := &Expr{Kind: kind, Pos: first.Pos}
	// (a AND b) AND c is a AND b AND c: one node, so that redundant
	// parentheses do not change the rendering.
	add := func(a *Expr) {
		if a.Kind == kind {
			e.Args = append(e.Args, a.Args...)
		} else {
			e.Args = append(e.Args, a)
		}
	}
	add(first)
	for p.accept(word) {
		a, err := next()
		if err != nil {
			return nil, err
		}
		add(a)
	}
	return e, nil
}

func (p *parser) not() (*Expr, error) {
	if p.keyword("not") {
		t := p.take()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		a, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: KindNot, Pos: t.pos, Args: []*Expr{a}}, nil
	}
	return p.is()
}

func (p *parser) is() (*Expr, error) {
	e, err := p.compare()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.keyword("isnull"), p.keyword("notnull"):
			t := p.take()
			e = &Expr{Kind: KindIs, Pos: e.Pos, Op: "NULL", Not: t.text == "notnull", Args: []*Expr{e}}
			continue
		case !p.keyword("is"):
			return e, nil
		}
		p.take()
		n := &Expr{Kind: KindIs, Pos: e.Pos, Args: []*Expr{e}}
		n.Not = p.accept("not")
		t := p.take()
		switch {
		case t.kind == tIdent && (t.text == "null" || t.text == "true" || t.text == "false" || t.text == "unknown"):
			n.Op = strings.ToUpper(t.text)
		default:
			return nil, p.unexpected(t)
		}
		e = n
	}
}

func (p *parser) compare() (*Expr, error) {
	left, err := p.pattern()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tOp || t.text == "@>" || t.text == "+" || t.text == "-" {
		if t.kind == tOp && (t.text == "+" || t.text == "-") {
			return nil, errAt(ErrUnsupported, t.pos, "operator "+t.text, "arithmetic is not supported")
		}
		return left, nil
	}
	p.take()
	if p.keyword("any") || p.keyword("some") {
		p.take()
		if t.text != "=" {
			return nil, errAt(ErrUnsupported, t.pos, t.text+" ANY", "only = ANY (...) is supported")
		}
		if p.peek().kind != tLParen {
			return nil, p.unexpected(p.peek())
		}
		p.take()
		arr, err := p.pattern()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.unexpected(p.peek())
		}
		p.take()
		return p.noSecondCompare(&Expr{Kind: KindAny, Pos: left.Pos, Op: "=", Args: []*Expr{left, arr}})
	}
	right, err := p.pattern()
	if err != nil {
		return nil, err
	}
	return p.noSecondCompare(&Expr{Kind: KindCompare, Pos: left.Pos, Op: t.text, Args: []*Expr{left, right}})
}

// noSecondCompare refuses a = b = c: comparison operators do not associate.
func (p *parser) noSecondCompare(e *Expr) (*Expr, error) {
	if t := p.peek(); t.kind == tOp && t.text != "@>" {
		return nil, errAt(ErrSyntax, t.pos, "operator "+t.text, "comparison operators do not chain")
	}
	return e, nil
}

// pattern parses other [NOT] (LIKE|ILIKE|BETWEEN|IN) ...
func (p *parser) pattern() (*Expr, error) {
	e, err := p.contains()
	if err != nil {
		return nil, err
	}
	not := false
	if p.keyword("not") {
		nx := p.peekAt(1)
		if nx.kind == tIdent && (nx.text == "like" || nx.text == "ilike" || nx.text == "between" || nx.text == "in" || nx.text == "similar") {
			p.take()
			not = true
		}
	}
	t := p.peek()
	if t.kind != tIdent {
		return e, nil
	}
	switch t.text {
	case "like", "ilike":
		p.take()
		pat, err := p.contains()
		if err != nil {
			return nil, err
		}
		n := &Expr{Kind: KindLike, Pos: e.Pos, Op: strings.ToUpper(t.text), Not: not, Args: []*Expr{e, pat}}
		if p.accept("escape") {
			esc, err := p.contains()
			if err != nil {
				return nil, err
			}
			n.Args = append(n.Args, esc)
		}
		return n, nil
	case "between":
		p.take()
		if p.keyword("symmetric") || p.keyword("asymmetric") {
			s := p.take()
			return nil, errAt(ErrUnsupported, s.pos, "BETWEEN "+strings.ToUpper(s.text), "not supported")
		}
		lo, err := p.contains()
		if err != nil {
			return nil, err
		}
		if err := p.expect("and"); err != nil {
			return nil, err
		}
		hi, err := p.contains()
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: KindBetween, Pos: e.Pos, Not: not, Args: []*Expr{e, lo, hi}}, nil
	case "in":
		p.take()
		if p.peek().kind != tLParen {
			return nil, p.unexpected(p.peek())
		}
		p.take()
		if p.keyword("select") {
			return nil, p.unexpected(p.peek())
		}
		n := &Expr{Kind: KindIn, Pos: e.Pos, Not: not, Args: []*Expr{e}}
		for {
			a, err := p.contains()
			if err != nil {
				return nil, err
			}
			n.Args = append(n.Args, a)
			if p.peek().kind == tComma {
				p.take()
				continue
			}
			if p.peek().kind != tRParen {
				return nil, p.unexpected(p.peek())
			}
			p.take()
			return n, nil
		}
	}
	if not {
		return nil, p.unexpected(t)
	}
	return e, nil
}

// contains parses primary [@> primary].
func (p *parser) contains() (*Expr, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && p.peek().text == "@>" {
		p.take()
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		e = &Expr{Kind: KindContains, Pos: e.Pos, Args: []*Expr{e, r}}
	}
	return e, nil
}

func (p *parser) primary() (*Expr, error) {
	t := p.take()
	switch t.kind {
	case tLParen:
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			if c.kind == tComma {
				return nil, errAt(ErrUnsupported, c.pos, "row constructor", "not supported")
			}
			return nil, p.unexpected(c)
		}
		p.take()
		return e, nil
	case tString:
		return &Expr{Kind: KindString, Pos: t.pos, Text: t.text}, nil
	case tNumber:
		return &Expr{Kind: KindNumber, Pos: t.pos, Text: t.text}, nil
	case tParam:
		return &Expr{Kind: KindParam, Pos: t.pos, Param: t.num}, nil
	case tOp:
		if t.text == "-" || t.text == "+" {
			if n := p.peek(); n.kind == tNumber {
				p.take()
				text := n.text
				if t.text == "-" {
					text = "-" + text
				}
				return &Expr{Kind: KindNumber, Pos: t.pos, Text: text}, nil
			}
			return nil, errAt(ErrUnsupported, t.pos, "unary "+t.text, "a sign is supported on numeric literals only")
		}
	case tQIdent:
		if p.peek().kind == tLParen {
			return nil, errAt(ErrUnsupported, t.pos, "function call "+t.text, "function calls are not supported")
		}
		return &Expr{Kind: KindColumn, Pos: t.pos, Name: t.text}, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return &Expr{Kind: KindBool, Pos: t.pos, Text: t.text}, nil
		case "null":
			return &Expr{Kind: KindNull, Pos: t.pos}, nil
		}
		if reserved[t.text] {
			if c, ok := unsupportedWords[t.text]; ok {
				return nil, errAt(ErrUnsupported, t.pos, c, "not supported")
			}
		}
		if p.peek().kind == tLParen {
			return nil, errAt(ErrUnsupported, t.pos, "function call "+t.text, "function calls are not supported")
		}
		if p.peek().kind == tString {
			return nil, errAt(ErrUnsupported, t.pos, "typed literal "+t.text+" '...'", "typed literals are not supported; values take the type of the column they are compared with")
		}
		if reserved[t.text] {
			return nil, errAt(ErrSyntax, t.pos, strings.ToUpper(t.text), "unexpected keyword %s", strings.ToUpper(t.text))
		}
		return &Expr{Kind: KindColumn, Pos: t.pos, Name: t.text}, nil
	}
	return nil, p.unexpected(t)
}
