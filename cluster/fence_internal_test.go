package cluster

import "testing"

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
