package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// testRow builds a row of (id int8, score float8, big numeric, body text)
// from texts; nil is NULL, "toast" an unchanged TOASTed value.
func testRow(t *testing.T, texts ...any) *pubsub.Row {
	t.Helper()
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "score", OID: 701},
		{Name: "big", OID: 1700}, {Name: "body", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	cells := make([]pubsub.Cell, len(texts))
	for i, v := range texts {
		switch v {
		case nil:
			cells[i] = pubsub.Cell{State: pubsub.Null}
		case "toast":
			cells[i] = pubsub.Cell{State: pubsub.UnchangedTOAST}
		default:
			cells[i] = pubsub.Cell{State: pubsub.Present, Text: []byte(v.(string))}
		}
	}
	r, err := pubsub.NewRow(layout, cells)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChangeFrameRowData: a WAL event's row reaches the frame as the
// row's JSON: numbers with every digit, a float NaN as a string instead of
// failing the whole frame (which would end the page's stream), NULL as
// null, and unchanged TOASTed values left out so that the page keeps the
// ones it shows. NOTIFY events carry no row fields.
func TestChangeFrameRowData(t *testing.T) {
	ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Operation: "UPDATE", RowID: "1",
		LSN: 0x16_B374D848, CommitTime: time.Unix(1, 0),
		New: testRow(t, "1", "NaN", "12345678901234567890.5", "toast"),
		Old: testRow(t, "1", "2.5", nil, "x")}
	b, err := json.Marshal(newChangeFrame(ev, time.Unix(2, 0).UTC()))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var got struct {
		LSN string                     `json:"lsn"`
		New map[string]json.RawMessage `json:"new"`
		Old map[string]json.RawMessage `json:"old"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	_, toast := got.New["body"]
	if got.LSN != "16/B374D848" || string(got.New["score"]) != `"NaN"` || string(got.New["id"]) != "1" ||
		string(got.New["big"]) != "12345678901234567890.5" || toast || string(got.Old["score"]) != "2.5" ||
		string(got.Old["big"]) != "null" || string(got.Old["body"]) != `"x"` {
		t.Fatalf("frame = %s", b)
	}

	b, err = json.Marshal(newChangeFrame(pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Operation: "INSERT", RowID: "1"}, time.Unix(2, 0).UTC()))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"schema":"s","table":"t","operation":"INSERT","row_id":"1","at":"1970-01-01T00:00:02Z"}`; string(b) != want {
		t.Fatalf("NOTIFY frame = %s, want %s", b, want)
	}
}
