package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestChangeFrameRowData: a WAL event's row reaches the frame as JSON, and
// a value JSON cannot hold (a float NaN, which a real or double precision
// column may hold) shows as its text instead of failing the whole frame,
// which would end the page's stream. NOTIFY events carry no row fields.
func TestChangeFrameRowData(t *testing.T) {
	ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Operation: "UPDATE", RowID: "1",
		LSN: 0x16_B374D848, CommitTime: time.Unix(1, 0),
		New: map[string]any{"id": int64(1), "score": math.NaN()}, Old: map[string]any{"id": int64(1), "score": 2.5}}
	b, err := json.Marshal(newChangeFrame(ev, time.Unix(2, 0).UTC()))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	nw, _ := got["new"].(map[string]any)
	old, _ := got["old"].(map[string]any)
	if got["lsn"] != "16/B374D848" || nw["score"] != "NaN" || nw["id"] != float64(1) || old["score"] != 2.5 {
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
