package shapehttp

import (
	"errors"
	"strings"
)

// maxIdentifier is PostgreSQL's NAMEDATALEN-1: a longer name cannot be a
// column or table.
const maxIdentifier = 63

// parseIdentList reads a comma-separated list of SQL identifiers as the
// protocol's table ("schema.table") and columns ("id","name") parameters
// carry them: a double-quoted identifier keeps its case and may hold
// anything ("" stands for one quote); an unquoted one is folded to lower
// case and must be a plain name. sep is the separator between items.
func parseIdentList(s string, sep byte) ([]string, error) {
	var out []string
	i := 0
	for {
		name, n, err := parseIdent(s[i:])
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		i += n
		if i == len(s) {
			return out, nil
		}
		if s[i] != sep {
			return nil, errors.New("unexpected " + quoteChar(s[i]) + " after " + quoteName(name))
		}
		i++
	}
}

// parseIdent reads one identifier at the start of s and returns it and the
// number of bytes it took.
func parseIdent(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty name")
	}
	if s[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			name := b.String()
			if name == "" {
				return "", 0, errors.New("empty quoted name")
			}
			if len(name) > maxIdentifier {
				return "", 0, errors.New("name longer than 63 bytes")
			}
			return name, i + 1, nil
		}
		return "", 0, errors.New("unterminated quoted name")
	}
	i := 0
	for i < len(s) && plainIdentByte(s[i], i == 0) {
		i++
	}
	if i == 0 {
		return "", 0, errors.New("unexpected " + quoteChar(s[0]) + " where a name should start")
	}
	if i > maxIdentifier {
		return "", 0, errors.New("name longer than 63 bytes")
	}
	return strings.ToLower(s[:i]), i, nil
}

// plainIdentByte reports whether c may appear in an unquoted identifier.
func plainIdentByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '$':
		return !first
	}
	return false
}

// quoteName quotes an identifier the way PostgreSQL would print it in a
// message.
func quoteName(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteChar shows one byte of input in a message.
func quoteChar(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return "a control or non-ASCII byte"
	}
	return "'" + string(c) + "'"
}

// parseTable reads the table parameter: "table" (schema public) or
// "schema.table", each part quoted or not.
func parseTable(s string) (schema, table string, err error) {
	parts, err := parseIdentList(s, '.')
	if err != nil {
		return "", "", err
	}
	switch len(parts) {
	case 1:
		return "public", parts[0], nil
	case 2:
		return parts[0], parts[1], nil
	}
	return "", "", errors.New("want table or schema.table")
}
