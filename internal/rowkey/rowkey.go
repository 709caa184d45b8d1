// Package rowkey formats a row's key from its key columns' texts, the one
// form shared by the WAL source (Event.RowID) and live shapes: a one-column
// key is that column's text as it is; a key of several columns is a JSON
// array of their texts in table order, such as ["7","a,\"b\""], so that
// distinct keys give distinct strings.
package rowkey

// Format returns the key of the texts of a row's key columns, in table
// order. It panics on no texts.
func Format(texts []string) string {
	if len(texts) == 1 {
		return texts[0]
	}
	size := 2
	for _, t := range texts {
		size += len(t) + 3
	}
	b := make([]byte, 0, size+8)
	b = append(b, '[')
	for i, t := range texts {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, t)
	}
	return string(append(b, ']'))
}

// AppendJSONString appends s as a JSON string: `"` and `\` are escaped
// with a backslash, \n \r \t \b \f by their short escapes, other control
// characters below U+0020 as \u00XX, and every other byte is kept as it
// is (no HTML escaping, no replacement of invalid UTF-8). The mapping is
// injective, and for valid UTF-8 it is JSON that reads back to s.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
