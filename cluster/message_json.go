package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// wireEvent is an event's body in the JSON format of earlier releases,
// which decodeEvent still reads (messages a stream kept across an
// upgrade); nothing writes it any more.
type wireEvent struct {
	Resync     bool           `json:"resync,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Schema     string         `json:"schema,omitempty"`
	Table      string         `json:"table,omitempty"`
	Operation  string         `json:"op,omitempty"`
	RowID      string         `json:"row_id,omitempty"`
	LSN        uint64         `json:"lsn,omitempty"`
	CommitTime *time.Time     `json:"commit_time,omitempty"`
	New        map[string]any `json:"new,omitempty"`
	Old        map[string]any `json:"old,omitempty"`
}

// decodeJSON parses a body in the JSON format.
func decodeJSON(body []byte) (pubsub.Event, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return pubsub.Event{}, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	if w.Resync {
		return pubsub.Event{Kind: pubsub.Resync, Reason: w.Reason}, nil
	}
	if w.Schema == "" || w.Table == "" {
		return pubsub.Event{}, fmt.Errorf("%w: change without schema or table", errBadMessage)
	}
	ev := pubsub.Event{
		Kind: pubsub.TableChanged, Schema: w.Schema, Table: w.Table, Operation: w.Operation,
		RowID: w.RowID, LSN: w.LSN, New: w.New, Old: w.Old,
	}
	if w.CommitTime != nil {
		ev.CommitTime = *w.CommitTime
	}
	return ev, nil
}
