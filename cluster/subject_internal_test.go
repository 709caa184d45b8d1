package cluster

import (
	"strings"
	"testing"
)

func TestEscapeToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"public", "public"},
		{"phoenix_kit_users", "phoenix_kit_users"},
		{"my.table", "my~2Etable"},
		{"a b*c>", "a~20b~2Ac~3E"},
		{"~", "~7E"},
		{"", "~"},
		{"é", "~C3~A9"},
		{"_resync", "_resync"},
	} {
		if got := escapeToken(tc.in); got != tc.want {
			t.Errorf("escapeToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := unescapeToken(tc.want); err != nil || back != tc.in {
			t.Errorf("unescapeToken(%q) = %q, %v", tc.want, back, err)
		}
	}
	for _, bad := range []string{"~2e", "~2", "a.b", "~G0", "a b"} {
		if _, err := unescapeToken(bad); err == nil {
			t.Errorf("unescapeToken(%q) accepted a token escapeToken never writes", bad)
		}
	}
	// A Resync subject has one token fewer than any change subject.
	if got := strings.Count(changeSubject("p", "_resync", "x"), "."); got != 2 {
		t.Fatalf("change subject has %d dots", got)
	}
	// A message subject has one token more than any change subject.
	if got := messageSubject("p", "outbox.v1"); got != "p._message.outbox~2Ev1" {
		t.Fatal(got)
	}
	if resyncSubject("p.q") != "p.q._resync" {
		t.Fatal(resyncSubject("p.q"))
	}
}

// FuzzToken: unescapeToken never panics, and it accepts exactly the
// tokens escapeToken writes, each for one identifier.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"public", "my.table", "", "~", "~2E", "é", "a~", "~zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := escapeToken(s)
		if back, err := unescapeToken(tok); err != nil || back != s {
			t.Fatalf("escape/unescape of %q: %q, %v", s, back, err)
		}
		if strings.ContainsAny(tok, ". \t\r\n*>") || tok == "" {
			t.Fatalf("token %q is not a valid subject token", tok)
		}
		if id, err := unescapeToken(s); err == nil && escapeToken(id) != s {
			t.Fatalf("token %q decodes to %q, which escapes to %q", s, id, escapeToken(id))
		}
	})
}
