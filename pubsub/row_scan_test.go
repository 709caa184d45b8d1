package pubsub_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Audit is embedded: its fields count as the outer struct's.
type Audit struct {
	CreatedAt time.Time
	Note      *string `db:"note"`
}

type scanned struct {
	Audit
	ID      int64 `db:"id"`
	Small   int16
	Name    string
	Nick    *string
	Score   float64
	Ratio   float32
	Big     pgtype.Numeric
	Active  bool
	Data    []byte
	Doc     map[string]any
	Tags    []*string
	Matrix  [][]int32
	Span    pgtype.Interval
	Window  pgtype.Range[pgtype.Int4]
	Addr    netip.Prefix
	Uid     string `db:"uid"`
	Day     time.Time
	Mood    string
	Pos     int32 `db:"POS"`
	Maybe   sql.NullString
	Ignored string `db:"-"`
	hidden  string //nolint:unused // unexported fields are skipped
}

// UidBytes is the uuid as pgx decodes it into [16]byte.
func (s scanned) UidBytes() [16]byte {
	var b [16]byte
	h := strings.ReplaceAll(s.Uid, "-", "")
	for i := range b {
		b[i] = byte(hexNibble(h[2*i])<<4 | hexNibble(h[2*i+1]))
	}
	return b
}

func hexNibble(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

const scanSelect = `SELECT 9223372036854775807::int8 AS id, '-32768'::int2 AS small, 'Ada ☺' AS name, NULL::text AS nick,
	'-0'::float8 AS score, '1.5'::float4 AS ratio, 1234567890123456789012345678901234567890.5::numeric AS big, true AS active,
	'\x00ff'::bytea AS data, '{"n":12345678901234567890,"s":"x"}'::jsonb AS doc, ARRAY['a b', NULL, 'c']::text[] AS tags,
	'{{1,2},{3,4}}'::int4[] AS matrix, '1 year 2 mons 3 days 04:05:06.5'::interval AS span, int4range(1, 10) AS "window",
	'10.1.0.0/16'::inet AS addr, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uid, '2024-02-29'::date AS day,
	'happy'::mood AS mood, 7::posint AS pos, NULL::text AS maybe, '0044-03-15 12:00:00+00 BC'::timestamptz AS created_at,
	'a note' AS note, 'extra' AS unused_column`

func TestRowScan(t *testing.T) {
	o := setupOracle(t)
	o.exec(`CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)`)
	r := o.rows(scanSelect)[0]
	// pgx scanning the same query into the same struct is the oracle (the
	// extra column aside, which RowToStructByName refuses).
	rows, err := o.conn.Query(t.Context(), strings.Replace(scanSelect, `, 'extra' AS unused_column`, ``, 1))
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[scanned])
	if err != nil {
		t.Fatal(err)
	}
	got := scanned{Ignored: "kept", hidden: "kept"}
	if err := r.Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got.Ignored != "kept" || got.hidden != "kept" {
		t.Errorf("skipped fields changed: %q %q", got.Ignored, got.hidden)
	}
	got.Ignored, got.hidden = "", ""
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("Scan:\n%s\npgx:\n%s", gj, wj)
	}
	if math.Float64bits(got.Score) != math.Float64bits(math.Copysign(0, -1)) || got.Nick != nil || got.Note == nil || *got.Note != "a note" {
		t.Errorf("Scan: score %v nick %v note %v", got.Score, got.Nick, got.Note)
	}
	if got.CreatedAt.Year() != -43 || got.Uid != text(t, r, "uid") {
		t.Errorf("Scan: created_at %v uid %s", got.CreatedAt, got.Uid)
	}
	// One column into several fields, of other types.
	var other struct {
		Raw      json.RawMessage `db:"doc"`
		Doc      string
		UidBytes [16]byte `db:"uid"`
		Big      string
		Score    *float64
	}
	if err := r.Scan(&other); err != nil {
		t.Fatal(err)
	}
	if string(other.Raw) != text(t, r, "doc") || other.Doc != text(t, r, "doc") || other.UidBytes != want.UidBytes() ||
		other.Big != text(t, r, "big") || other.Score == nil || *other.Score != 0 {
		t.Errorf("Scan: %+v", other)
	}
}

func TestRowScanErrors(t *testing.T) {
	o := setupOracle(t)
	r := o.rows(`SELECT 1::int8 AS id, 'not a number' AS name, NULL::int4 AS n, 300::int4 AS wide`)[0]
	cases := []struct {
		name string
		dst  any
		want []string // in the error
	}{
		{"cannot hold", &struct {
			ID   int64
			Name int64
		}{}, []string{`column "name"`, "field Name", "int64"}},
		{"missing column", &struct {
			ID    int64
			Email string
		}{}, []string{"field Email", `"Email"`, "id, name, n, wide"}},
		{"missing tagged column", &struct {
			ID int64 `db:"user_id"`
		}{}, []string{"field ID", `"user_id"`}},
		{"NULL into non-pointer", &struct{ N int32 }{}, []string{`column "n"`, "(int4)", "field N", "NULL"}},
		{"too narrow", &struct{ Wide int8 }{}, []string{`column "wide"`, "field Wide", "int8"}},
		{"not a struct", new(int), []string{"*int"}},
		{"nil", nil, []string{"<nil>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Scan(c.dst)
			t.Log(err)
			if !errors.Is(err, pubsub.ErrScan) {
				t.Fatalf("Scan: %v, want ErrScan", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not say %s", err, w)
				}
			}
		})
	}
	// A missing column fails before anything is written.
	dst := struct {
		ID    int64
		Email string
	}{ID: 42}
	if err := r.Scan(&dst); err == nil || dst.ID != 42 {
		t.Errorf("Scan wrote %d before failing with %v", dst.ID, err)
	}
}

// TestRowScanAbsentAndTOAST: columns the event does not carry leave their
// fields as they were.
func TestRowScanAbsentAndTOAST(t *testing.T) {
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "body", OID: 25}, {Name: "old", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte("7")}, {State: pubsub.UnchangedTOAST}, {State: pubsub.Absent}})
	if err != nil {
		t.Fatal(err)
	}
	dst := struct {
		ID   int64
		Body string
		Old  string
	}{Body: "before", Old: "before"}
	if err := r.Scan(&dst); err != nil {
		t.Fatal(err)
	}
	if dst.ID != 7 || dst.Body != "before" || dst.Old != "before" {
		t.Errorf("Scan: %+v", dst)
	}
	for _, col := range []string{"body", "old", "nope"} {
		if v, err := r.Value(col); !errors.Is(err, pubsub.ErrNoValue) || v != nil {
			t.Errorf("Value(%s): %v, %v", col, v, err)
		}
	}
	if m := r.Map(); len(m) != 1 || m["id"] != int64(7) {
		t.Errorf("Map: %v", m)
	}
}
