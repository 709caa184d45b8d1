package where

import (
	"strconv"
	"strings"
)

// ExprKind is the kind of an [Expr] node.
type ExprKind uint8

// The node kinds. Operands are columns, literals and parameters; every
// other kind is a condition.
const (
	KindColumn   ExprKind = iota + 1 // Name
	KindString                       // Text: a '...' literal
	KindNumber                       // Text: a numeric literal, '-' included
	KindBool                         // Text: "true" or "false"
	KindNull                         // NULL
	KindParam                        // Param: $n
	KindAnd                          // Args: two or more
	KindOr                           // Args: two or more
	KindNot                          // Args[0]
	KindCompare                      // Args[0] Op Args[1]; Op is = <> < <= > >=
	KindAny                          // Args[0] = ANY(Args[1])
	KindContains                     // Args[0] @> Args[1]
	KindIn                           // Args[0] [NOT] IN (Args[1:])
	KindBetween                      // Args[0] [NOT] BETWEEN Args[1] AND Args[2]
	KindLike                         // Args[0] [NOT] LIKE|ILIKE Args[1] [ESCAPE Args[2]]
	KindIs                           // Args[0] IS [NOT] Op; Op is NULL, TRUE, FALSE or UNKNOWN
)

// Expr is a node of a parsed WHERE clause. It is plain data, built by
// [Parse]; [Expr.String] renders it again.
type Expr struct {
	Kind  ExprKind
	Pos   int    // byte offset of the node in the source
	Name  string // KindColumn: the column name (case folded unless quoted)
	Text  string // literals
	Param int    // KindParam
	Op    string // KindCompare: the operator; KindLike: LIKE or ILIKE; KindIs: NULL, TRUE, FALSE, UNKNOWN
	Not   bool   // NOT IN, NOT BETWEEN, NOT LIKE, IS NOT
	Args  []*Expr
}

// String renders the expression as SQL with every condition in
// parentheses: Parse(e.String()) gives e again (positions aside).
// Column names are always quoted; strings are written standard-conforming.
func (e *Expr) String() string {
	var b strings.Builder
	e.render(&b, func(s string) string { return quoteIdent(s) }, nil)
	return b.String()
}

// quoteIdent quotes a name as PostgreSQL does ("" doubles a quote).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString writes s as a standard-conforming string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// render writes e; operand, when set, renders literals and parameters
// (the bound form), otherwise they are written as parsed.
func (e *Expr) render(b *strings.Builder, qi func(string) string, operand func(*Expr) string) {
	if operand != nil {
		if s := operand(e); s != "" {
			b.WriteString(s)
			return
		}
	}
	not := func() {
		if e.Not {
			b.WriteString(" NOT")
		}
	}
	switch e.Kind {
	case KindColumn:
		b.WriteString(qi(e.Name))
	case KindString:
		b.WriteString(quoteString(e.Text))
	case KindNumber:
		if strings.HasPrefix(e.Text, "-") {
			b.WriteString("(" + e.Text + ")")
		} else {
			b.WriteString(e.Text)
		}
	case KindBool:
		b.WriteString(strings.ToUpper(e.Text))
	case KindNull:
		b.WriteString("NULL")
	case KindParam:
		b.WriteString("$" + strconv.Itoa(e.Param))
	case KindAnd, KindOr:
		sep := " AND "
		if e.Kind == KindOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(sep)
			}
			a.render(b, qi, operand)
		}
		b.WriteByte(')')
	case KindNot:
		b.WriteString("(NOT ")
		e.Args[0].render(b, qi, operand)
		b.WriteByte(')')
	case KindCompare, KindContains:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		op := e.Op
		if e.Kind == KindContains {
			op = "@>"
		}
		b.WriteString(" " + op + " ")
		e.Args[1].render(b, qi, operand)
		b.WriteByte(')')
	case KindAny:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		b.WriteString(" = ANY (")
		e.Args[1].render(b, qi, operand)
		b.WriteString("))")
	case KindIn:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		not()
		b.WriteString(" IN (")
		for i, a := range e.Args[1:] {
			if i > 0 {
				b.WriteString(", ")
			}
			a.render(b, qi, operand)
		}
		b.WriteString("))")
	case KindBetween:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		not()
		b.WriteString(" BETWEEN ")
		e.Args[1].render(b, qi, operand)
		b.WriteString(" AND ")
		e.Args[2].render(b, qi, operand)
		b.WriteByte(')')
	case KindLike:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		not()
		b.WriteString(" " + e.Op + " ")
		e.Args[1].render(b, qi, operand)
		if len(e.Args) > 2 {
			b.WriteString(" ESCAPE ")
			e.Args[2].render(b, qi, operand)
		}
		b.WriteByte(')')
	case KindIs:
		b.WriteByte('(')
		e.Args[0].render(b, qi, operand)
		b.WriteString(" IS")
		not()
		b.WriteString(" " + e.Op + ")")
	}
}

// isOperand reports whether e is a column, literal or parameter.
func (e *Expr) isOperand() bool { return e.Kind <= KindParam }
