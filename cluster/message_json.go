package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// wireEvent is an event's body in the JSON format of earlier releases,
// which decode still reads (messages a stream kept across an upgrade);
// nothing writes it any more.
type wireEvent struct {
	Resync     bool            `json:"resync,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Schema     string          `json:"schema,omitempty"`
	Table      string          `json:"table,omitempty"`
	Operation  string          `json:"op,omitempty"`
	RowID      string          `json:"row_id,omitempty"`
	LSN        uint64          `json:"lsn,omitempty"`
	CommitTime *time.Time      `json:"commit_time,omitempty"`
	New        json.RawMessage `json:"new,omitempty"`
	Old        json.RawMessage `json:"old,omitempty"`
}

// decodeJSON parses a body in the JSON format. Its rows become Rows as
// jsonRow makes them; a null row is no row.
func (d *decoder) decodeJSON(body []byte) (pubsub.Event, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return pubsub.Event{}, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	if w.Resync {
		return pubsub.Event{Kind: pubsub.Resync, Reason: pubsub.Reason(w.Reason)}, nil
	}
	if w.Schema == "" || w.Table == "" {
		return pubsub.Event{}, fmt.Errorf("%w: change without schema or table", errBadMessage)
	}
	ev := pubsub.Event{
		Kind: pubsub.TableChanged, Schema: w.Schema, Table: w.Table, Operation: pubsub.Operation(w.Operation),
		RowID: w.RowID, LSN: pubsub.LSN(w.LSN),
	}
	var err error
	if ev.New, err = d.optionalJSONRow(w.New); err != nil {
		return pubsub.Event{}, err
	}
	if ev.Old, err = d.optionalJSONRow(w.Old); err != nil {
		return pubsub.Event{}, err
	}
	if w.CommitTime != nil && !w.CommitTime.IsZero() {
		ev.CommitTime = *w.CommitTime
	}
	return ev, nil
}

// optionalJSONRow is jsonRow, with nil for an absent or null row.
func (d *decoder) optionalJSONRow(b json.RawMessage) (*pubsub.Row, error) {
	if len(b) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	return d.jsonRow(b)
}
