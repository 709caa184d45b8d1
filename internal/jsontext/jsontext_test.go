package jsontext_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/jsontext"
)

// FuzzAppendString: the text is what encoding/json writes without HTML
// escaping, whatever the input (invalid UTF-8, U+2028 and U+2029, control
// characters).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\n\r\t\b\f", "\u2028\u2029", "\xff\xfe é <&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := jsontext.AppendString(nil, s)
		var g, w string
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, got, err)
		}
		if err := json.Unmarshal(want.Bytes(), &w); err != nil {
			t.Fatal(err)
		}
		if g != w {
			t.Fatalf("AppendString(%q) = %s reads as %q, encoding/json's %s as %q", s, got, g, want.Bytes(), w)
		}
		// Like encoding/json: no raw U+2028/U+2029 (they end a line in
		// JavaScript), no HTML escaping.
		if bytes.ContainsRune(got, '\u2028') || bytes.ContainsRune(got, '\u2029') ||
			bytes.Contains(got, []byte("\\u003c")) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want.Bytes())
		}
	})
}
