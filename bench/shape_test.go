package main

import "testing"

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkShapesNoMatch/shapes=1000-2         	 1000000	       289.2 ns/op	       0 B/op	       0 allocs/op
BenchmarkShapesOverlap-2                     	    1519	    454900 ns/op	       454.9 ns/shape	       0 B/op	       0 allocs/op
PASS
`)
	got := parseBench(out)
	if len(got) != 2 || got[0].name != "BenchmarkShapesNoMatch/shapes=1000" || got[0].metrics["ns/op"] != 289.2 ||
		got[1].name != "BenchmarkShapesOverlap" || got[1].metrics["ns/shape"] != 454.9 {
		t.Fatalf("%+v", got)
	}
}
