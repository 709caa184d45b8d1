package main

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// statusFrame is the JSON of SSE status frames, /api/status and /healthz.
// It comes from the handler, not from the Listener, so that it keeps
// flowing while the module is disabled.
type statusFrame struct {
	Module   string        `json:"module"`
	Enabled  bool          `json:"enabled"`
	Listener listenerStats `json:"listener"`
	// Dropped counts events this stream's mailbox lost (each loss is
	// followed by a resync frame); absent outside SSE.
	Dropped uint64    `json:"dropped,omitempty"`
	At      time.Time `json:"at"`
}

// listenerStats is listener.Stats with JSON names.
type listenerStats struct {
	State      string     `json:"state"` // stopped, connecting, listening or ready
	Ready      bool       `json:"ready"`
	LastError  string     `json:"last_error,omitempty"`
	Running    bool       `json:"running"`
	Connected  bool       `json:"connected"`
	Reconnects uint64     `json:"reconnects"`
	Received   uint64     `json:"received"`
	Invalid    uint64     `json:"invalid"`
	Published  uint64     `json:"published"`
	Probes     uint64     `json:"probes"`
	Resyncs    uint64     `json:"resyncs"`
	LastListen *time.Time `json:"last_listen,omitempty"`
}

func fromStats(s listener.Stats) listenerStats {
	out := listenerStats{
		State:      string(s.State),
		Ready:      s.Ready,
		LastError:  s.LastError,
		Running:    s.Running,
		Connected:  s.Connected,
		Reconnects: s.Reconnects,
		Received:   s.Received,
		Invalid:    s.Invalid,
		Published:  s.Published,
		Probes:     s.Probes,
		Resyncs:    s.Resyncs,
	}
	if !s.LastListen.IsZero() {
		t := s.LastListen
		out.LastListen = &t
	}
	return out
}

// status returns the current status; dropped is the stream's mailbox
// drop count (0 outside SSE).
func (w *web) status(dropped uint64) statusFrame {
	return statusFrame{
		Module:   w.Module,
		Enabled:  w.Registry.Enabled(w.Module),
		Listener: fromStats(w.Listener.Stats()),
		Dropped:  dropped,
		At:       time.Now(),
	}
}

// changeFrame is the JSON of an SSE change frame.
type changeFrame struct {
	Schema    string    `json:"schema"`
	Table     string    `json:"table"`
	Operation string    `json:"operation"`
	RowID     string    `json:"row_id"`
	At        time.Time `json:"at"` // when this server received it
}

// resyncFrame is the JSON of an SSE resync frame: the page must reload.
type resyncFrame struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

func newChangeFrame(ev pubsub.Event, at time.Time) changeFrame {
	return changeFrame{Schema: ev.Schema, Table: ev.Table, Operation: ev.Operation, RowID: ev.RowID, At: at}
}
