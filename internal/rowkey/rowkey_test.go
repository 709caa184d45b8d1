package rowkey_test

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
)

func TestFormat(t *testing.T) {
	if got := rowkey.Format([]string{"7"}); got != "7" {
		t.Fatalf("one column: %q", got)
	}
	if got, want := rowkey.Format([]string{"7", "a,\"b\"\n"}), `["7","a,\"b\"\n"]`; got != want {
		t.Fatalf("two columns: %s, want %s", got, want)
	}
}

// FuzzFormat: a key of several valid UTF-8 texts is JSON that reads back
// to those texts, so distinct keys give distinct strings.
func FuzzFormat(f *testing.F) {
	f.Add("a", "b")
	f.Add("", "\x00\x1f\"\\")
	f.Add("é,", "]\u2028")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		k := rowkey.Format([]string{a, b})
		var back []string
		if err := json.Unmarshal([]byte(k), &back); err != nil {
			t.Fatalf("Format(%q, %q) = %s: %v", a, b, k, err)
		}
		if !slices.Equal(back, []string{a, b}) {
			t.Fatalf("Format(%q, %q) = %s reads back as %q", a, b, k, back)
		}
	})
}
