package main

import (
	"bytes"
	"testing"
)

func TestPatternCounterAcrossWrites(t *testing.T) {
	body := []byte(`[{"a":1,"headers":{"operation":"insert"}},{"headers":{"operation":"insert"}},{"headers":{"operation":"update"}}]`)
	want := bytes.Count(body, []byte(`"operation":"insert"`))
	for size := 1; size <= len(body); size++ {
		c := &patternCounter{pat: []byte(`"operation":"insert"`), keep: 30}
		for i := 0; i < len(body); i += size {
			_, _ = c.Write(body[i:min(i+size, len(body))])
		}
		if c.n != want {
			t.Fatalf("writes of %d bytes: %d, want %d", size, c.n, want)
		}
		if !bytes.Equal(c.tail, body[len(body)-30:]) {
			t.Fatalf("writes of %d bytes: tail %q, want the last 30 bytes", size, c.tail)
		}
	}
}
