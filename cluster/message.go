package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// errBadMessage is wrapped by decode errors.
var errBadMessage = errors.New("cluster: malformed stream message")

// wireEvent is an event's body in the stream. Schema and table travel in
// the body too, so that a reader need not parse the subject (the subject
// is there for filtering by NATS tools and consumers of the stream).
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

// encodeEvent returns the subject and body of ev.
func encodeEvent(prefix string, ev pubsub.Event) (subject string, body []byte, err error) {
	w := wireEvent{Reason: ev.Reason}
	if ev.Kind == pubsub.Resync {
		w.Resync = true
		subject = resyncSubject(prefix)
	} else {
		w.Schema, w.Table, w.Operation, w.RowID, w.LSN = ev.Schema, ev.Table, ev.Operation, ev.RowID, ev.LSN
		w.New, w.Old = ev.New, ev.Old
		if !ev.CommitTime.IsZero() {
			t := ev.CommitTime
			w.CommitTime = &t
		}
		subject = changeSubject(prefix, ev.Schema, ev.Table)
	}
	body, err = json.Marshal(w)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: encode %v: %w", ev, err)
	}
	return subject, body, nil
}

// decodeEvent parses a stream message body. Row values come back as JSON
// gives them: numbers as json.Number, timestamps and byte strings as
// strings, as json.Marshal wrote them on the leader.
func decodeEvent(body []byte) (pubsub.Event, error) {
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
