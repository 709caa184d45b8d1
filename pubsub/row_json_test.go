package pubsub_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowMarshalJSON checks the JSON of a row of every kind of column
// against the server's text: numbers with every digit, raw json, strings
// for the rest, table order, and never an error.
func TestRowMarshalJSON(t *testing.T) {
	o := setupOracle(t)
	r := o.rows(`SELECT 1::int8 AS id, '-32768'::int2 AS "small", 4294967295::oid AS o, 'NaN'::float8 AS nan,
		'-0'::float8 AS negzero, 4.9e-324::float8 AS denorm, 'Infinity'::float4 AS inf,
		1234567890123456789012345678901234567890.0000000001::numeric AS big, 'NaN'::numeric AS nnan,
		true AS yes, false AS no, NULL::text AS nothing, 'null'::jsonb AS jnull, '{"id":12345678901234567890}'::jsonb AS doc,
		'{"a" :  1}'::json AS j, E'quote" back\\ tab\t nl\n emoji 😀 \u2028' AS txt, '\x00ff'::bytea AS bin,
		'0044-03-15 12:00:00+00 BC'::timestamptz AS bc, 'infinity'::date AS forever, '{{1,NULL},{3,4}}'::int4[] AS arr,
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS "UUID Col"`)[0]
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	// Table order.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(keys, ",") != strings.Join(r.Names(), ",") {
		t.Errorf("keys %v, columns %v", keys, r.Names())
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	want := map[string]string{
		"id": "1", "small": "-32768", "o": "4294967295", "nan": `"NaN"`, "negzero": "-0", "denorm": text(t, r, "denorm"),
		"inf": `"Infinity"`, "big": text(t, r, "big"), "nnan": `"NaN"`, "yes": "true", "no": "false", "nothing": "null",
		"jnull": "null", "doc": text(t, r, "doc"), "j": text(t, r, "j"), "txt": str(text(t, r, "txt")),
		"bin": str(`\x00ff`), "bc": str("0044-03-15 12:00:00+00 BC"), "forever": `"infinity"`, "arr": `"{{1,NULL},{3,4}}"`,
		"UUID Col": `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`,
	}
	for k, w := range want {
		if string(got[k]) != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	// Every digit survives a decoder that keeps numbers as text.
	var nums map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&nums); err != nil {
		t.Fatal(err)
	}
	bigRat, _ := new(big.Rat).SetString(string(nums["big"].(json.Number)))
	if wantRat, _ := new(big.Rat).SetString(text(t, r, "big")); bigRat.Cmp(wantRat) != 0 {
		t.Errorf("big: %v", nums["big"])
	}
	// Through encoding/json inside another value, too.
	wrapped, err := json.Marshal(map[string]*pubsub.Row{"new": r, "old": nil})
	if err != nil || !bytes.Contains(wrapped, []byte(`"old":null`)) {
		t.Errorf("wrapped: %s, %v", wrapped, err)
	}
	if s := r.String(); !strings.Contains(s, `id="1"`) || !strings.Contains(s, "nothing=NULL") {
		t.Errorf("String: %s", s)
	}
}

// TestRowMarshalJSONNeverFails feeds texts PostgreSQL would never print
// for the column types; the result is still valid JSON, with strings.
func TestRowMarshalJSONNeverFails(t *testing.T) {
	oids := []uint32{16, 20, 21, 23, 26, 700, 701, 1700, 114, 3802, 1082, 1184, 1007, 25}
	texts := []string{"", "x", "01", "1e", "NaN", "\xff\xfe", `{"a":`, "tRue", "\x00\x1f", "--1", ".5", "1.", "+1"}
	for _, oid := range oids {
		for _, s := range texts {
			layout, _ := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "v\"\n\xff", OID: oid}})
			r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte(s)}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.MarshalJSON()
			if err != nil || !json.Valid(b) {
				t.Errorf("oid %d text %q: %s, %v", oid, s, b, err)
			}
			if _, err := json.Marshal(r.Map()); err != nil && oid != 700 && oid != 701 {
				t.Errorf("oid %d text %q: Map does not marshal: %v", oid, s, err)
			}
		}
	}
}
