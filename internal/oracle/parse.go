package oracle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrSyntax is wrapped by [ParseChange] for a line that is not
// test_decoding output.
var ErrSyntax = errors.New("oracle: not test_decoding output")

// ParseChange parses one row of test_decoding's output (the data column
// of pg_logical_slot_get_changes), with or without include-xids and
// include-timestamp. Streaming lines (stream-changes) are not supported.
// Errors wrap ErrSyntax and quote the line's start.
func ParseChange(line string) (Change, error) {
	c, err := parseChange(line)
	if err != nil {
		head := line
		if len(head) > 80 {
			head = head[:80] + "..."
		}
		return Change{}, fmt.Errorf("%w: %s in %q", ErrSyntax, err.Error(), head)
	}
	return c, nil
}

// errAt is a parse error at a byte offset of the line.
func errAt(off int, what string) error { return fmt.Errorf("%s at byte %d", what, off) }

func parseChange(line string) (Change, error) {
	switch {
	case line == "BEGIN":
		return Change{Kind: Begin}, nil
	case strings.HasPrefix(line, "BEGIN "):
		xid, err := strconv.ParseUint(line[len("BEGIN "):], 10, 32)
		if err != nil {
			return Change{}, errAt(6, "bad xid")
		}
		return Change{Kind: Begin, Xid: uint32(xid), HasXid: true}, nil
	case strings.HasPrefix(line, "COMMIT PREPARED "):
		return parseTwoPhase(CommitPrepared, line, len("COMMIT PREPARED "))
	case strings.HasPrefix(line, "ROLLBACK PREPARED "):
		return parseTwoPhase(RollbackPrepared, line, len("ROLLBACK PREPARED "))
	case strings.HasPrefix(line, "PREPARE TRANSACTION "):
		return parseTwoPhase(Prepare, line, len("PREPARE TRANSACTION "))
	case line == "COMMIT" || strings.HasPrefix(line, "COMMIT "):
		c := Change{Kind: Commit}
		rest := stripTimestamp(line[len("COMMIT"):])
		if rest != "" {
			xid, err := strconv.ParseUint(strings.TrimPrefix(rest, " "), 10, 32)
			if err != nil || rest[0] != ' ' {
				return Change{}, errAt(6, "bad xid")
			}
			c.Xid, c.HasXid = uint32(xid), true
		}
		return c, nil
	case strings.HasPrefix(line, "message: "):
		return parseMessage(line)
	case strings.HasPrefix(line, "table "):
		return parseTable(line)
	}
	return Change{}, errAt(0, "unknown line")
}

// stripTimestamp removes include-timestamp's " (at ...)" suffix.
func stripTimestamp(s string) string {
	if i := strings.LastIndex(s, " (at "); i >= 0 && strings.HasSuffix(s, ")") {
		return s[:i]
	}
	return s
}

// parseTwoPhase reads "<verb> 'gid'[, txid N][ (at ts)]"; off is where
// the quoted gid starts.
func parseTwoPhase(k Kind, line string, off int) (Change, error) {
	gid, n, err := quoted(line, off)
	if err != nil {
		return Change{}, err
	}
	c := Change{Kind: k, GID: gid}
	rest := stripTimestamp(line[n:])
	if rest != "" {
		num, ok := strings.CutPrefix(rest, ", txid ")
		xid, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return Change{}, errAt(n, "bad txid")
		}
		c.Xid, c.HasXid = uint32(xid), true
	}
	return c, nil
}

// parseMessage reads "message: transactional: T prefix: P, sz: N
// content:C". N counts the content's bytes in the database's encoding,
// C is printed in the session's, so N matches len(C) only when the two
// are the same; in a single-byte encoding (LATIN1) N is C's length in
// characters. The prefix may itself hold ", sz: ": the first split that
// leaves N bytes of content wins, then the first that leaves N
// characters, else the first one that parses.
func parseMessage(line string) (Change, error) {
	rest, ok := strings.CutPrefix(line, "message: transactional: ")
	if !ok || len(rest) < 1 {
		return Change{}, errAt(9, "bad message")
	}
	c := Change{Kind: Message}
	switch rest[0] {
	case '0':
	case '1':
		c.Transactional = true
	default:
		return Change{}, errAt(len(line)-len(rest), "bad transactional flag")
	}
	rest, ok = strings.CutPrefix(rest[1:], " prefix: ")
	if !ok {
		return Change{}, errAt(len(line)-len(rest), "no prefix")
	}
	fallback, chars := -1, -1
	var fallbackContent, charsContent string
	for i := 0; ; {
		j := strings.Index(rest[i:], ", sz: ")
		if j < 0 {
			break
		}
		at := i + j
		tail := rest[at+len(", sz: "):]
		digits := 0
		for digits < len(tail) && tail[digits] >= '0' && tail[digits] <= '9' {
			digits++
		}
		if content, ok := strings.CutPrefix(tail[digits:], " content:"); ok && digits > 0 {
			if n, err := strconv.Atoi(tail[:digits]); err == nil {
				if n == len(content) {
					c.Prefix, c.Content, c.Size = rest[:at], []byte(content), n
					return c, nil
				}
				if chars < 0 && n == utf8.RuneCountInString(content) {
					chars, charsContent = at, content
				}
				if fallback < 0 {
					fallback, fallbackContent = at, content
				}
			}
		}
		i = at + 1
	}
	if chars >= 0 {
		fallback, fallbackContent = chars, charsContent
	}
	if fallback < 0 {
		return Change{}, errAt(len(line)-len(rest), "no size")
	}
	c.Prefix, c.Content = rest[:fallback], []byte(fallbackContent)
	c.Size, _ = strconv.Atoi(rest[fallback+len(", sz: ") : fallback+len(", sz: ")+strings.Index(rest[fallback+len(", sz: "):], " ")])
	return c, nil
}

// parseTable reads a row change or a TRUNCATE.
func parseTable(line string) (Change, error) {
	p := &parser{s: line, i: len("table ")}
	var rels []Relation
	for {
		rel, err := p.relation()
		if err != nil {
			return Change{}, err
		}
		rels = append(rels, rel)
		if !p.eat(", ") {
			break
		}
	}
	if !p.eat(": ") {
		return Change{}, errAt(p.i, `expected ": "`)
	}
	var c Change
	switch {
	case p.eat("INSERT:"):
		c.Kind = Insert
	case p.eat("UPDATE:"):
		c.Kind = Update
	case p.eat("DELETE:"):
		c.Kind = Delete
	case p.eat("TRUNCATE:"):
		c.Kind = Truncate
		c.Truncated = rels
		return c, p.truncateFlags(&c)
	default:
		return Change{}, errAt(p.i, "unknown operation")
	}
	if len(rels) != 1 {
		return Change{}, errAt(p.i, "several tables for a row change")
	}
	c.Rel = rels[0]
	if p.eat(" (no-tuple-data)") {
		c.NoTupleData = true
		return c, p.end()
	}
	var err error
	switch c.Kind {
	case Insert:
		c.New, err = p.tuple()
	case Delete:
		c.HasOld = true
		c.Old, err = p.tuple()
	case Update:
		if p.eat(" old-key:") {
			c.HasOld = true
			if c.Old, err = p.tuple(); err != nil {
				return Change{}, err
			}
			if !p.eat(" new-tuple:") {
				return Change{}, errAt(p.i, `expected " new-tuple:"`)
			}
			if p.eat(" (no-tuple-data)") {
				c.NoTupleData = true
				return c, p.end()
			}
		}
		c.New, err = p.tuple()
	}
	if err != nil {
		return Change{}, err
	}
	return c, p.end()
}

// parser walks one line.
type parser struct {
	s string
	i int
}

func (p *parser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *parser) end() error {
	if p.i != len(p.s) {
		return errAt(p.i, "trailing text")
	}
	return nil
}

func (p *parser) truncateFlags(c *Change) error {
	if p.eat(" (no-flags)") {
		return p.end()
	}
	c.RestartSeqs = p.eat(" restart_seqs")
	c.Cascade = p.eat(" cascade")
	if !c.RestartSeqs && !c.Cascade {
		return errAt(p.i, "no TRUNCATE flags")
	}
	return p.end()
}

// relation reads schema.table, each part as quote_identifier prints it.
func (p *parser) relation() (Relation, error) {
	schema, err := p.ident()
	if err != nil {
		return Relation{}, err
	}
	if !p.eat(".") {
		return Relation{}, errAt(p.i, `expected "."`)
	}
	table, err := p.ident()
	if err != nil {
		return Relation{}, err
	}
	return Relation{schema, table}, nil
}

// ident reads an identifier: "..." with "" for a quote, or a bare run of
// the characters quote_identifier leaves unquoted.
func (p *parser) ident() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for j := p.i + 1; j < len(p.s); j++ {
			if p.s[j] != '"' {
				b.WriteByte(p.s[j])
				continue
			}
			if j+1 < len(p.s) && p.s[j+1] == '"' {
				b.WriteByte('"')
				j++
				continue
			}
			if b.Len() == 0 {
				return "", errAt(p.i, "empty identifier")
			}
			p.i = j + 1
			return b.String(), nil
		}
		return "", errAt(p.i, "unterminated identifier")
	}
	j := p.i
	for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '_') {
		j++
	}
	if j == p.i {
		return "", errAt(p.i, "expected an identifier")
	}
	id := p.s[p.i:j]
	p.i = j
	return id, nil
}

// tuple reads " name[type]:value" columns up to the end of the line or to
// " new-tuple:".
func (p *parser) tuple() ([]Column, error) {
	cols := []Column{}
	for p.i < len(p.s) && !strings.HasPrefix(p.s[p.i:], " new-tuple:") {
		if !p.eat(" ") {
			return nil, errAt(p.i, `expected " "`)
		}
		var c Column
		var err error
		if c.Name, err = p.ident(); err != nil {
			return nil, err
		}
		if !p.eat("[") {
			return nil, errAt(p.i, `expected "["`)
		}
		if c.Type, err = p.typeName(); err != nil {
			return nil, err
		}
		if err := p.value(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// typeName reads format_type's output up to "]:" (which it consumes),
// skipping quoted identifiers: "integer[]]:" is integer[].
func (p *parser) typeName() (string, error) {
	start := p.i
	inQuote := false
	for j := p.i; j < len(p.s); j++ {
		switch {
		case p.s[j] == '"':
			inQuote = !inQuote // "" inside quotes toggles twice: no harm
		case !inQuote && p.s[j] == ']' && j+1 < len(p.s) && p.s[j+1] == ':':
			if j == start {
				return "", errAt(j, "empty type")
			}
			p.i = j + 2
			return p.s[start:j], nil
		}
	}
	return "", errAt(start, "unterminated type")
}

// value reads a column's value as print_literal wrote it.
func (p *parser) value(c *Column) error {
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, "'"):
		text, n, err := quoted(p.s, p.i)
		if err != nil {
			return err
		}
		c.State, c.Text, p.i = pubsub.Present, text, n
		return nil
	case strings.HasPrefix(rest, "B'"):
		// Bit strings hold only 0 and 1: no quote to escape.
		j := strings.IndexByte(rest[2:], '\'')
		if j < 0 {
			return errAt(p.i, "unterminated bit string")
		}
		c.State, c.Text = pubsub.Present, rest[2:2+j]
		p.i += 3 + j
		return nil
	}
	j := strings.IndexByte(rest, ' ')
	if j < 0 {
		j = len(rest)
	}
	tok := rest[:j]
	switch tok {
	case "":
		return errAt(p.i, "empty value")
	case "null":
		c.State = pubsub.Null
	case "unchanged-toast-datum":
		c.State = pubsub.UnchangedTOAST
	case "true":
		c.State, c.Text = pubsub.Present, "t"
	case "false":
		c.State, c.Text = pubsub.Present, "f"
	default:
		// Integers, oid, floats and numeric: printed as they are.
		c.State, c.Text = pubsub.Present, tok
	}
	p.i += j
	return nil
}

// quoted reads a '...' literal (a quote doubled inside) starting at s[off]
// and returns its text and the offset after it.
func quoted(s string, off int) (string, int, error) {
	if off >= len(s) || s[off] != '\'' {
		return "", 0, errAt(off, "expected a quote")
	}
	var b strings.Builder
	for j := off + 1; j < len(s); j++ {
		if s[j] != '\'' {
			// Copy the run up to the next quote at once.
			k := strings.IndexByte(s[j:], '\'')
			if k < 0 {
				break
			}
			b.WriteString(s[j : j+k])
			j += k - 1
			continue
		}
		if j+1 < len(s) && s[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		return b.String(), j + 1, nil
	}
	return "", 0, errAt(off, "unterminated literal")
}
