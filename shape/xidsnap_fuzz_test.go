package shape

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSnapshot: parseSnapshot never panics, and what it accepts
// prints back to an equivalent snapshot.
func FuzzParseSnapshot(f *testing.F) {
	for _, s := range []string{"10:20:", "10:20:12,15", "4294967300:4294967310:4294967302", "1:1:", "::", "a:b:c", "10:20:15,12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sn, err := parseSnapshot(s, 0)
		if err != nil {
			return
		}
		xs := make([]string, len(sn.xip))
		for i, x := range sn.xip {
			xs[i] = strconv.FormatUint(x, 10)
		}
		again, err := parseSnapshot(strconv.FormatUint(sn.xmin, 10)+":"+strconv.FormatUint(sn.xmax, 10)+":"+strings.Join(xs, ","), 0)
		if err != nil || again.xmin != sn.xmin || again.xmax != sn.xmax || len(again.xip) != len(sn.xip) {
			t.Fatalf("%q: reparse %+v %v", s, again, err)
		}
	})
}
