package cluster

import (
	"strings"
	"testing"
)

func TestSlotID(t *testing.T) {
	for _, c := range []struct {
		id, slot string
		want     bool
	}{
		{"phoenixkitdb:16b3748:3", "phoenixkitdb", true},
		{"phoenixkitdb:0:1", "phoenixkitdb", true},
		{"phoenixkitdb:16b3748:3", "other", false},
		{"phoenixkitdb_2:16b3748:3", "phoenixkitdb", false},
		{"phoenixkitdb:16b3748", "phoenixkitdb", false}, // no Seq
		{"phoenixkitdb:1:2:3", "phoenixkitdb", false},   // too many parts
		{"3fG9kQ2x:7:12", "phoenixkitdb", false},        // a Resync's instance id
		{"phoenixkitdb:16b3748:3", "", false},           // NOTIFY mode: no slot
		{":16b3748:3", "", false},
	} {
		if got := slotID(c.id, c.slot); got != c.want {
			t.Errorf("slotID(%q, %q) = %v, want %v", c.id, c.slot, got, c.want)
		}
	}
}

// FuzzSlotID: slotID accepts exactly <slot>:<a>:<b> with a non-empty
// slot and no ':' in a or b, and then readLast's split yields a as the
// LSN.
func FuzzSlotID(f *testing.F) {
	f.Add("phoenixkitdb:16b3748:3", "phoenixkitdb")
	f.Add("3fG9kQ2x:7:12", "phoenixkitdb")
	f.Add("a:b:c:d", "a")
	f.Fuzz(func(t *testing.T, id, slot string) {
		got := slotID(id, slot)
		parts := strings.Split(id, ":")
		want := slot != "" && !strings.Contains(slot, ":") && len(parts) == 3 && parts[0] == slot
		if strings.Contains(slot, ":") {
			// A slot name never holds ':'; then only the prefix counts.
			rest, ok := strings.CutPrefix(id, slot+":")
			want = ok && strings.Count(rest, ":") == 1
		}
		if got != want {
			t.Fatalf("slotID(%q, %q) = %v, want %v", id, slot, got, want)
		}
	})
}
