package where

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// keyKinds are the column types whose bounds the range index keys.
var keyKinds = []colType{
	{kind: kInt, oid: oidInt8}, {kind: kNumeric, oid: oidNumeric}, {kind: kFloat4, oid: oidFloat4},
	{kind: kFloat8, oid: oidFloat8}, {kind: kText, oid: oidText}, {kind: kBpchar, oid: oidBpchar},
	{kind: kUUID, oid: oidUUID}, {kind: kDate, oid: oidDate}, {kind: kTimestamp, oid: oidTimestamp},
	{kind: kTimestamptz, oid: oidTimestamptz},
}

// keyInputs returns texts for values of t: edges and random ones, many
// of them sharing long prefixes or rounding to the same float64.
func keyInputs(t colType, r *rand.Rand) []string {
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	var in []string
	switch t.kind {
	case kInt, kNumeric, kFloat4, kFloat8:
		in = []string{"0", "-0", "0.000", "1", "-1", "NaN", "Infinity", "-Infinity", "1.5", "-1.5",
			"9223372036854775807", "-9223372036854775808", "9223372036854775806", "0.1", "0.10000000000000000001",
			"0.09999999999999999999", "1e308", "1e309", "-1e309", "1e-320", "4.9e-324", "123456789012345678901234567890"}
		for range 60 {
			s := digits(1 + r.IntN(25))
			if r.IntN(2) == 0 {
				s += "." + digits(1+r.IntN(25))
			}
			if r.IntN(3) == 0 {
				s = "-" + s
			}
			in = append(in, s)
		}
	case kText, kBpchar:
		in = []string{"", "a", "a ", "ab", "abcdefgh", "abcdefgh", "abcdefghi", "abcdefgha", "é", "e\u0301", "\u00ff", "zz"}
		for range 60 {
			in = append(in, "abcdefg"[:r.IntN(8)]+digits(r.IntN(12)))
		}
	case kUUID:
		for range 40 {
			h := strconv.FormatUint(r.Uint64(), 16) + strconv.FormatUint(r.Uint64(), 16)
			h = (h + strings.Repeat("0", 32))[:32]
			if r.IntN(2) == 0 {
				h = "0000000" + h[7:]
			}
			in = append(in, h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:])
		}
	case kDate:
		in = []string{"infinity", "-infinity", "2000-01-01", "1999-12-31", "4713-01-01 BC", "5874897-12-31"}
		for range 40 {
			in = append(in, fmt.Sprintf("%04d-%02d-%02d", 1+r.IntN(9999), 1+r.IntN(12), 1+r.IntN(28)))
		}
	case kTimestamp, kTimestamptz:
		in = []string{"infinity", "-infinity", "2000-01-01 00:00:00", "2000-01-01 00:00:00.000001", "1999-12-31 23:59:59.999999"}
		for range 40 {
			s := fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%s", 1+r.IntN(9999), 1+r.IntN(12), 1+r.IntN(28),
				r.IntN(24), r.IntN(60), r.IntN(60), digits(1+r.IntN(6)))
			if t.kind == kTimestamptz {
				s += "+00"
			}
			in = append(in, s)
		}
	}
	return in
}

// The range index compares bounds by their keys first: for every pair of
// values of every keyed type, the keyed comparison must be cmpVal's, and
// the keys must settle most pairs (a key that ties always would be
// correct and useless).
func TestOrdKeyAgreesWithCmpVal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ct := range keyKinds {
		var vals []value
		for _, s := range keyInputs(ct, r) {
			v, err := parseInput(ct, s)
			if err != nil {
				continue
			}
			vals = append(vals, v)
		}
		if len(vals) < 20 {
			t.Fatalf("%s: only %d inputs parsed", kindNames[ct.kind], len(vals))
		}
		decided, unequal := 0, 0
		for i := range vals {
			for j := range vals {
				a, b := &vals[i], &vals[j]
				ak, bk := keyFor(&ct, a), keyFor(&ct, b)
				want := cmpVal(&ct, a, b)
				if got := cmpKeyed(&ct, ak, a, bk, b); got != want {
					t.Fatalf("%s: %q against %q: keyed %d, cmpVal %d (keys %#x, %#x)", kindNames[ct.kind], a.raw, b.raw, got, want, ak, bk)
				}
				if want != 0 {
					unequal++
					if ak != bk {
						decided++
					}
				}
			}
		}
		if decided*10 < unequal*8 {
			t.Errorf("%s: keys decided %d of %d unequal pairs", kindNames[ct.kind], decided, unequal)
		}
	}
}

// FuzzOrdKey checks keyed comparison against cmpVal for any two inputs of
// a keyed type.
func FuzzOrdKey(f *testing.F) {
	f.Add(uint8(1), "0.1", "0.10000000000000000001")
	f.Add(uint8(0), "9223372036854775807", "9223372036854775806")
	f.Add(uint8(3), "NaN", "Infinity")
	f.Add(uint8(4), "abcdefgh", "abcdefghi")
	f.Fuzz(func(t *testing.T, k uint8, x, y string) {
		ct := keyKinds[int(k)%len(keyKinds)]
		a, err := parseInput(ct, x)
		if err != nil {
			return
		}
		b, err := parseInput(ct, y)
		if err != nil {
			return
		}
		ak, bk := keyFor(&ct, &a), keyFor(&ct, &b)
		if got, want := cmpKeyed(&ct, ak, &a, bk, &b), cmpVal(&ct, &a, &b); got != want {
			t.Fatalf("%s: %q against %q: keyed %d, cmpVal %d", kindNames[ct.kind], x, y, got, want)
		}
	})
}
