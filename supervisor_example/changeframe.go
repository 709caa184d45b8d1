package main

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// changeFrame is the JSON of an SSE change frame. Events from the WAL
// source (-source=wal) also carry the commit position and time and the
// row: New after an INSERT or UPDATE, Old before an UPDATE or DELETE (the
// key columns, or the whole row with REPLICA IDENTITY FULL, as the demo
// tables have). NOTIFY events leave those fields out. A row is the
// *pubsub.Row's own JSON: its present and NULL columns in table order,
// numbers with every digit, json as JSON, everything else as PostgreSQL's
// text; unchanged TOASTed columns are left out (the page keeps what it
// shows for them).
type changeFrame struct {
	Schema     string      `json:"schema"`
	Table      string      `json:"table"`
	Operation  string      `json:"operation"`
	RowID      string      `json:"row_id"`
	At         time.Time   `json:"at"` // when this server received it
	LSN        string      `json:"lsn,omitempty"`
	CommitTime *time.Time  `json:"commit_time,omitempty"`
	New        *pubsub.Row `json:"new,omitempty"`
	Old        *pubsub.Row `json:"old,omitempty"`
}

func newChangeFrame(ev pubsub.Event, at time.Time) changeFrame {
	f := changeFrame{Schema: ev.Schema, Table: ev.Table, Operation: string(ev.Operation), RowID: ev.RowID, At: at,
		New: ev.New, Old: ev.Old}
	if ev.LSN != 0 {
		f.LSN = ev.LSN.String()
	}
	if !ev.CommitTime.IsZero() {
		t := ev.CommitTime
		f.CommitTime = &t
	}
	return f
}
