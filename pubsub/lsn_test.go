package pubsub_test

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestLSNAgainstServer compares LSN.String with the server's pg_lsn text
// and ParseLSN with its input function, over edge and random positions.
func TestLSNAgainstServer(t *testing.T) {
	o := setupOracle(t)
	vals := []uint64{0, 1, 0xFFFFFFFF, 1 << 32, 0x16B3748, 0xFFFFFFFFFFFFFFFF, 0x100000000A}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		vals = append(vals, r.Uint64()>>(r.IntN(64)))
	}
	for _, v := range vals {
		var text string
		// numeric -> pg_lsn: '0/0'::pg_lsn + n (PostgreSQL 14+).
		if err := o.conn.QueryRow(t.Context(), `SELECT ('0/0'::pg_lsn + $1::numeric)::text`, strconv.FormatUint(v, 10)).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if got := pubsub.LSN(v).String(); got != text {
			t.Fatalf("LSN(%d).String() = %q, the server prints %q", v, got, text)
		}
		back, err := pubsub.ParseLSN(text)
		if err != nil || back != pubsub.LSN(v) {
			t.Fatalf("ParseLSN(%q) = %d, %v; want %d", text, back, err, v)
		}
	}
	// What the server refuses, ParseLSN refuses; lower case is accepted by both.
	for _, in := range []string{"", "/", "0/", "/0", "G/0", "0/0/0", "123456789/0", "0/123456789", "-1/0", " 0/0", "0/0 ", "abc/def"} {
		var text string
		serr := o.conn.QueryRow(t.Context(), `SELECT $1::text::pg_lsn::text`, in).Scan(&text)
		got, err := pubsub.ParseLSN(in)
		if (serr == nil) != (err == nil) {
			t.Errorf("ParseLSN(%q) = %v, %v; the server says %q, %v", in, got, err, text, serr)
			continue
		}
		if err == nil && got.String() != text {
			t.Errorf("ParseLSN(%q).String() = %q, the server %q", in, got, text)
		}
		if err != nil && !errors.Is(err, pubsub.ErrInvalidLSN) {
			t.Errorf("ParseLSN(%q): %v does not wrap ErrInvalidLSN", in, err)
		}
	}
}

// FuzzParseLSN: whatever ParseLSN accepts prints back to text it accepts
// as the same LSN.
func FuzzParseLSN(f *testing.F) {
	for _, s := range []string{"0/0", "16/B374D848", "ffffffff/ffffffff", "0/", "1/+2", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := pubsub.ParseLSN(s)
		if err != nil {
			return
		}
		again, err := pubsub.ParseLSN(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLSN(%q) = %v, which reads back as %v, %v", s, l, again, err)
		}
	})
}
