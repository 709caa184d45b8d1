package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// changeFrame is the JSON of an SSE change frame. Events from the WAL
// source (-source=wal) also carry the commit position and time and the
// row: New after an INSERT or UPDATE, Old before an UPDATE or DELETE (the
// key columns, or the whole row with REPLICA IDENTITY FULL, as the demo
// tables have). NOTIFY events leave those fields out.
type changeFrame struct {
	Schema     string                     `json:"schema"`
	Table      string                     `json:"table"`
	Operation  string                     `json:"operation"`
	RowID      string                     `json:"row_id"`
	At         time.Time                  `json:"at"` // when this server received it
	LSN        string                     `json:"lsn,omitempty"`
	CommitTime *time.Time                 `json:"commit_time,omitempty"`
	New        map[string]json.RawMessage `json:"new,omitempty"`
	Old        map[string]json.RawMessage `json:"old,omitempty"`
}

func newChangeFrame(ev pubsub.Event, at time.Time) changeFrame {
	f := changeFrame{Schema: ev.Schema, Table: ev.Table, Operation: ev.Operation, RowID: ev.RowID, At: at,
		New: rowJSON(ev.New), Old: rowJSON(ev.Old)}
	if ev.LSN != 0 {
		f.LSN = formatLSN(ev.LSN)
	}
	if !ev.CommitTime.IsZero() {
		t := ev.CommitTime
		f.CommitTime = &t
	}
	return f
}

// rowJSON encodes each value of row on its own, so that one value JSON
// cannot hold (a float NaN, say) shows as its Go text rather than failing
// the frame and with it the stream. The event's map is shared with other
// receivers and is only read.
func rowJSON(row map[string]any) map[string]json.RawMessage {
	if row == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(row))
	for k, v := range row {
		b, err := json.Marshal(v)
		if err != nil {
			b, _ = json.Marshal(fmt.Sprint(v))
		}
		out[k] = b
	}
	return out
}
