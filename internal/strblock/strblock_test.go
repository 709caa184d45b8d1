package strblock

import (
	"fmt"
	"strings"
	"testing"
)

// Strings copied earlier keep their bytes while later ones fill and
// replace blocks, and a long string gets its own allocation.
func TestCopyKeepsEarlierStrings(t *testing.T) {
	var k Block
	var got []string
	for i := range 2000 {
		got = append(got, k.Copy(fmt.Appendf(nil, "%07d", i)))
	}
	for i, s := range got {
		if want := fmt.Sprintf("%07d", i); s != want {
			t.Fatalf("string %d = %q, want %q", i, s, want)
		}
	}
	long := []byte(strings.Repeat("x", MaxShared+1))
	s := k.Copy(long)
	long[0] = 'y'
	if s[0] != 'x' {
		t.Fatal("a long string shares the caller's bytes")
	}
	if k.Copy(nil) != "" {
		t.Fatal(`Copy(nil) != ""`)
	}
}

func TestCopyAllocatesPerBlock(t *testing.T) {
	var k Block
	id := []byte("0123456")
	allocs := testing.AllocsPerRun(1000, func() { _ = k.Copy(id) })
	if allocs > 0.01 {
		t.Fatalf("%.3f allocations per copy, want one per %d-byte block", allocs, Size)
	}
}
