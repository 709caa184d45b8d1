package where

import (
	"errors"
	"fmt"
)

// Errors of the package; every error Parse and Bind return is an *[Error]
// that matches one of them with errors.Is.
var (
	// ErrSyntax: the text is not a WHERE clause.
	ErrSyntax = errors.New("where: syntax error")
	// ErrUnsupported: a valid SQL construct the package does not evaluate
	// (a function call, a cast, a subquery, a comment, ...).
	ErrUnsupported = errors.New("where: unsupported")
	// ErrUnknownColumn: a column the table does not have.
	ErrUnknownColumn = errors.New("where: unknown column")
	// ErrType: operands whose types PostgreSQL would refuse to compare, or
	// an operation the package cannot match exactly for the column's type
	// or collation.
	ErrType = errors.New("where: type mismatch")
	// ErrParam: a parameter that is missing or whose text does not parse
	// as the type of the column it is compared with.
	ErrParam = errors.New("where: bad parameter")
	// ErrNoValue is wrapped by [Pred.Eval] when a column the predicate
	// reads is absent or an unchanged TOASTed value in the row: the caller
	// fetches the row and evaluates again.
	ErrNoValue = errors.New("where: column value not in the row")
)

// Error is a refused clause: Pos is the byte offset in the text where the
// offending construct starts, Construct names it ("function call lower",
// "type cast", "column nope"), Msg says what is wrong.
type Error struct {
	Pos       int
	Construct string
	Msg       string
	kind      error
}

// Error returns "where: <kind> at byte <pos>: <construct>: <msg>".
func (e *Error) Error() string {
	s := fmt.Sprintf("%v at byte %d", e.kind, e.Pos)
	if e.Construct != "" {
		s += ": " + e.Construct
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the sentinel the error matches (ErrSyntax, ...).
func (e *Error) Unwrap() error { return e.kind }

func errAt(kind error, pos int, construct, format string, args ...any) *Error {
	return &Error{Pos: pos, Construct: construct, Msg: fmt.Sprintf(format, args...), kind: kind}
}
