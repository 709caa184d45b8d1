package where

import (
	"encoding/binary"
	"fmt"
	"strconv"
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
	constNull bool // the constant operand is NULL (nContains, nAnyArr)
	fold      bool // ILIKE: fold the subject's ASCII case
	col       int  // index into Pred.cols
	kids      []*node
	vals      []value
	like      []likeTok
}

// boundCol is a column the predicate reads.
type boundCol struct {
	Name string
	t    colType
}

// Pred is a bound WHERE clause: typed, its parameters parsed, ready to
// evaluate on rows and to render as SQL. It is immutable and safe for
// concurrent use.
//
// It keeps the clause's syntax tree only as rendered at Bind, in sql: the
// text of the clause with each column name between two identMark bytes
// and each argument as argMark, its length (a uvarint) and its text. A
// shape holds its Pred for as long as it lives, and this is a fraction
// of the tree.
type Pred struct {
	cols []boundCol
	root *node
	sql  string
}

// The bytes that mark a column name and an argument in Pred.sql. No
// other text there has them: column names (no NUL in PostgreSQL) sit
// between identMarks, arguments are counted, and the rest is keywords,
// operators and numbers.
const (
	identMark = 0
	argMark   = 1
)

// boundConst is the text a literal or parameter is bound to.
type boundConst struct {
	e    *Expr
	text string
}

func (b *binder) setConst(e *Expr, text string) {
	for i := range b.consts {
		if b.consts[i].e == e {
			b.consts[i].text = text
			return
		}
	}
	b.consts = append(b.consts, boundConst{e, text})
}

// compile renders e, bound by b, into p.sql.
func (p *Pred) compile(e *Expr, b *binder) {
	var sb strings.Builder
	var num [binary.MaxVarintLen64]byte
	e.render(&sb, func(name string) string { return "\x00" + name + "\x00" }, func(x *Expr) string {
		text, ok := "", false
		for i := range b.consts {
			if b.consts[i].e == x {
				text, ok = b.consts[i].text, true
			}
		}
		switch {
		case ok:
		case x.Kind == KindString:
			text = x.Text
		case x.Kind == KindParam && x.Param <= len(b.params):
			text = b.params[x.Param-1]
		default:
			return ""
		}
		return "\x01" + string(num[:binary.PutUvarint(num[:], uint64(len(text)))]) + text
	})
	p.sql = sb.String()
}

// render writes p.sql with each column name through qi and each
// argument through arg, and returns the arguments.
func (p *Pred) render(qi func(string) string, arg func(string) string) (string, []string) {
	var sb strings.Builder
	var args []string
	s := p.sql
	for i := 0; i < len(s); {
		switch s[i] {
		case identMark:
			j := strings.IndexByte(s[i+1:], identMark) + i + 1
			sb.WriteString(qi(s[i+1 : j]))
			i = j + 1
		case argMark:
			n, k := binary.Uvarint([]byte(s[i+1 : min(len(s), i+1+binary.MaxVarintLen64)]))
			text := s[i+1+k : i+1+k+int(n)]
			args = append(args, text)
			sb.WriteString(arg(text))
			i += 1 + k + int(n)
		default:
			j := i
			for j < len(s) && s[j] != identMark && s[j] != argMark {
				j++
			}
			sb.WriteString(s[i:j])
			i = j
		}
	}
	return sb.String(), args
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
	n := firstArg
	sql, texts := p.render(quoteIdent, func(string) string {
		n++
		return "$" + strconv.Itoa(n-1)
	})
	var args []any
	for _, t := range texts {
		args = append(args, t)
	}
	return sql, args
}

// Normal returns a normalised text of the predicate: equal for clauses
// that differ only in spacing, keyword case, redundant parentheses and
// the spelling of values, and the parameters substituted. Shapes with
// equal Normal texts (on the same table) have the same rows.
// It is rendered at each call.
func (p *Pred) Normal() string {
	s, _ := p.render(quoteIdent, quoteString)
	return s
}
