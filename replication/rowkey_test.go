package replication

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// keyRow returns a row of two present text columns.
func keyRow(t *testing.T, a, b string) *pubsub.Row {
	l, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "a", OID: 25}, {Name: "b", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pubsub.NewRow(l, []pubsub.Cell{{State: pubsub.Present, Text: []byte(a)}, {State: pubsub.Present, Text: []byte(b)}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// FuzzRowKey: distinct composite keys give distinct row ids, whatever
// bytes (separators, quotes, backslashes, invalid UTF-8) they hold.
func FuzzRowKey(f *testing.F) {
	for _, s := range [][4]string{
		{"x,y", "z", "x", "y,z"}, {`q"`, `"`, `q`, `""`}, {`\`, `"`, `\"`, ``}, {"\xff", "", "\xef\xbf\xbd", ""}, {"\n", "", `\n`, ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		k1, ok1 := rowKey(keyRow(t, a, b), []int{0, 1})
		k2, ok2 := rowKey(keyRow(t, c, d), []int{0, 1})
		if !ok1 || !ok2 {
			t.Fatal("a present key was refused")
		}
		if (k1 == k2) != (a == c && b == d) {
			t.Fatalf("keys (%q, %q) and (%q, %q) give %q and %q", a, b, c, d, k1, k2)
		}
	})
}
