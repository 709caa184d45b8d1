package where

import (
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // an unquoted name, lower-cased (keywords too)
	tQIdent         // a "quoted" name, case kept
	tString         // a '...' literal, quotes undone
	tNumber         // an unsigned numeric literal, as written
	tParam          // $n
	tOp             // = <> != < <= > >= @>
	tLParen
	tRParen
	tComma
)

// token is one lexical token; pos is its byte offset.
type token struct {
	kind tokKind
	text string
	num  int // the n of $n
	pos  int
}

// lexer splits a clause into tokens. It refuses, with their position,
// the lexical constructs the package does not accept: comments,
// semicolons, escape and dollar-quoted strings, casts, other operators.
type lexer struct {
	src string
	i   int
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex returns every token of src, ending with tEOF.
func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (l *lexer) next() (token, error) {
	s := l.src
	for l.i < len(s) {
		switch s[l.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			l.i++
			continue
		}
		break
	}
	start := l.i
	if l.i >= len(s) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := s[l.i]
	two := ""
	if l.i+1 < len(s) {
		two = s[l.i : l.i+2]
	}
	switch {
	case two == "--" || two == "/*":
		return token{}, errAt(ErrUnsupported, start, "comment", "comments are not accepted")
	case c == ';':
		return token{}, errAt(ErrUnsupported, start, "semicolon", "a WHERE clause is one expression; semicolons are not accepted")
	case two == "::":
		return token{}, errAt(ErrUnsupported, start, "type cast", "casts are not supported; values take the type of the column they are compared with")
	case c == '\'':
		return l.str(start)
	case c == '"':
		return l.qident(start)
	case c == '$':
		if l.i+1 < len(s) && isDigit(s[l.i+1]) {
			l.i++
			n := 0
			for l.i < len(s) && isDigit(s[l.i]) {
				if n > 65535 {
					return token{}, errAt(ErrSyntax, start, "parameter", "parameter number too large")
				}
				n = n*10 + int(s[l.i]-'0')
				l.i++
			}
			if l.i < len(s) && isIdentChar(s[l.i]) {
				return token{}, errAt(ErrSyntax, start, "parameter", "trailing junk after parameter")
			}
			if n == 0 {
				return token{}, errAt(ErrSyntax, start, "parameter $0", "parameters are numbered from $1")
			}
			return token{kind: tParam, num: n, text: s[start:l.i], pos: start}, nil
		}
		return token{}, errAt(ErrUnsupported, start, "dollar-quoted string", "dollar quoting is not supported")
	case isDigit(c) || c == '.' && l.i+1 < len(s) && isDigit(s[l.i+1]):
		return l.number(start)
	case isIdentStart(c):
		for l.i < len(s) && isIdentChar(s[l.i]) {
			l.i++
		}
		word := s[start:l.i]
		if l.i < len(s) && s[l.i] == '\'' {
			switch strings.ToLower(word) {
			case "e", "b", "x", "n", "u&":
				return token{}, errAt(ErrUnsupported, start, "prefixed string "+word+"'...'", "only plain '...' strings are supported")
			}
			return token{}, errAt(ErrUnsupported, start, "typed literal "+word+" '...'", "typed literals are not supported; values take the type of the column they are compared with")
		}
		if l.i < len(s) && s[l.i] == '&' && strings.EqualFold(word, "u") {
			return token{}, errAt(ErrUnsupported, start, "unicode escape U&", "unicode escapes are not supported")
		}
		// PostgreSQL folds ASCII letters only: "É" stays "É".
		return token{kind: tIdent, text: asciiLower(word), pos: start}, nil
	case c == '(':
		l.i++
		return token{kind: tLParen, text: "(", pos: start}, nil
	case c == ')':
		l.i++
		return token{kind: tRParen, text: ")", pos: start}, nil
	case c == ',':
		l.i++
		return token{kind: tComma, text: ",", pos: start}, nil
	}
	// An operator: PostgreSQL takes the longest run of operator characters.
	const opChars = "+-*/<>=~!@#%^&|`?"
	for l.i < len(s) && strings.IndexByte(opChars, s[l.i]) >= 0 {
		l.i++
	}
	op := s[start:l.i]
	if op == "" {
		l.i++
		what := string(c)
		if c == '[' || c == ']' {
			return token{}, errAt(ErrUnsupported, start, "brackets", "ARRAY[...] constructors and subscripts are not supported; pass an array as a '{...}' string or a parameter")
		}
		if c == '.' {
			return token{}, errAt(ErrUnsupported, start, "qualified name", "write the column name alone")
		}
		return token{}, errAt(ErrSyntax, start, "character "+what, "unexpected character")
	}
	switch op {
	case "=", "<>", "!=", "<", "<=", ">", ">=", "@>":
		if op == "!=" {
			op = "<>"
		}
		return token{kind: tOp, text: op, pos: start}, nil
	case "-", "+":
		return token{kind: tOp, text: op, pos: start}, nil
	}
	return token{}, errAt(ErrUnsupported, start, "operator "+op, "only = <> != < <= > >= @> are supported")
}

// str reads a standard-conforming '...' string (” is a quote).
func (l *lexer) str(start int) (token, error) {
	s := l.src
	var b strings.Builder
	l.i++
	for {
		j := strings.IndexByte(s[l.i:], '\'')
		if j < 0 {
			return token{}, errAt(ErrSyntax, start, "string", "unterminated string")
		}
		b.WriteString(s[l.i : l.i+j])
		l.i += j + 1
		if l.i < len(s) && s[l.i] == '\'' {
			b.WriteByte('\'')
			l.i++
			continue
		}
		break
	}
	// PostgreSQL joins 'a' 'b' only across a newline; refuse it instead.
	return token{kind: tString, text: b.String(), pos: start}, nil
}

// qident reads a "quoted" identifier ("" is a quote).
func (l *lexer) qident(start int) (token, error) {
	s := l.src
	var b strings.Builder
	l.i++
	for {
		j := strings.IndexByte(s[l.i:], '"')
		if j < 0 {
			return token{}, errAt(ErrSyntax, start, "quoted identifier", "unterminated quoted identifier")
		}
		b.WriteString(s[l.i : l.i+j])
		l.i += j + 1
		if l.i < len(s) && s[l.i] == '"' {
			b.WriteByte('"')
			l.i++
			continue
		}
		break
	}
	if b.Len() == 0 {
		return token{}, errAt(ErrSyntax, start, "quoted identifier", "zero-length quoted identifier")
	}
	return token{kind: tQIdent, text: b.String(), pos: start}, nil
}

// number reads digits[.digits][e[+-]digits] as PostgreSQL's lexer does.
func (l *lexer) number(start int) (token, error) {
	s := l.src
	for l.i < len(s) && isDigit(s[l.i]) {
		l.i++
	}
	if l.i < len(s) && s[l.i] == '.' {
		l.i++
		for l.i < len(s) && isDigit(s[l.i]) {
			l.i++
		}
	}
	if l.i < len(s) && (s[l.i] == 'e' || s[l.i] == 'E') {
		j := l.i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			l.i = j
		}
	}
	if l.i < len(s) && (isIdentStart(s[l.i]) || s[l.i] == '.') {
		return token{}, errAt(ErrSyntax, start, "number", "trailing junk after numeric literal")
	}
	return token{kind: tNumber, text: s[start:l.i], pos: start}, nil
}
