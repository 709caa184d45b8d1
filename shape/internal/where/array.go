package where

import (
	"fmt"
	"strings"
)

// maxArrayDims is PostgreSQL's MAXDIM.
const maxArrayDims = 6

// parseArrayText parses an array text of array type t (array_in's
// syntax: nested braces, an optional [l:u]={...} bounds prefix, quoted
// elements with backslash escapes, unquoted NULL) into its elements in
// row-major order, each parsed by the element type's input rules (input
// set) or as a row's output text. Dimensions do not matter to @> and ANY.
func parseArrayText(t colType, text string, input bool) ([]value, error) {
	et := t.elem()
	s := text
	i := 0
	space := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
			i++
		}
	}
	bad := func(why string) error { return fmt.Errorf("malformed array literal %q: %s", text, why) }
	space()
	if i < len(s) && s[i] == '[' {
		j := strings.IndexByte(s, '=')
		if j < 0 {
			return nil, bad("bounds without '='")
		}
		for _, c := range s[i:j] {
			if !(c == '[' || c == ']' || c == ':' || c == '-' || c == '+' || c >= '0' && c <= '9' || c == ' ') {
				return nil, bad("bad bounds")
			}
		}
		i = j + 1
		space()
	}
	if i >= len(s) || s[i] != '{' {
		return nil, bad("expected '{'")
	}
	var out []value
	depth, maxDepth := 0, 0
	var elem strings.Builder
	for {
		space()
		if i >= len(s) {
			return nil, bad("unexpected end")
		}
		switch c := s[i]; {
		case c == '{':
			depth++
			if depth > maxArrayDims {
				return nil, bad("too many dimensions")
			}
			if depth > maxDepth {
				maxDepth = depth
			}
			i++
			space()
			if i < len(s) && s[i] == '}' {
				i++
				depth--
				goto after
			}
			continue
		case c == '}' || c == ',':
			return nil, bad("unexpected " + string(c))
		}
		if depth < maxDepth {
			return nil, bad("elements at different depths")
		}
		{
			// One element.
			elem.Reset()
			quoted := false
			if s[i] == '"' {
				quoted = true
				i++
				for {
					if i >= len(s) {
						return nil, bad("unterminated quote")
					}
					c := s[i]
					if c == '"' {
						i++
						break
					}
					if c == '\\' {
						i++
						if i >= len(s) {
							return nil, bad("unexpected end")
						}
						c = s[i]
					}
					elem.WriteByte(c)
					i++
				}
			} else {
				trail := 0 // unescaped trailing white space to drop
				for i < len(s) && s[i] != ',' && s[i] != '}' {
					c := s[i]
					switch c {
					case '{', '"':
						return nil, bad("unexpected " + string(c))
					case '\\':
						i++
						if i >= len(s) {
							return nil, bad("unexpected end")
						}
						elem.WriteByte(s[i])
						trail = 0
						i++
						continue
					case ' ', '\t', '\n', '\r', '\v', '\f':
						trail++
					default:
						trail = 0
					}
					elem.WriteByte(c)
					i++
				}
				str := elem.String()
				elem.Reset()
				elem.WriteString(str[:len(str)-trail])
			}
			e := elem.String()
			if !quoted && strings.EqualFold(e, "NULL") {
				out = append(out, value{null: true})
			} else {
				v, err := parseScalar(et, e, input)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			space()
		}
	after:
		if depth == 0 {
			space()
			if i != len(s) {
				return nil, bad("junk after closing brace")
			}
			return out, nil
		}
		if i >= len(s) {
			return nil, bad("unexpected end")
		}
		switch s[i] {
		case ',':
			i++
			space()
			if i < len(s) && s[i] == '{' {
				if depth == maxDepth {
					return nil, bad("elements at different depths")
				}
			}
		case '}':
			i++
			depth--
			goto after
		default:
			return nil, bad("expected ',' or '}'")
		}
	}
}

// renderArray writes elements as an array text array_in reads.
func renderArray(vals []value) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if v.null {
			b.WriteString("NULL")
			continue
		}
		b.WriteByte('"')
		for j := 0; j < len(v.raw); j++ {
			if c := v.raw[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v.raw[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
