package main

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// statusFrame is the JSON of SSE status frames, /api/status and /healthz.
// It comes from the handler, not from the change source, so that it keeps
// flowing while the module is disabled.
type statusFrame struct {
	Module  string `json:"module"`
	Enabled bool   `json:"enabled"`
	// Source is the change source's kind: "notify" or "wal".
	Source string `json:"source"`
	// Listener holds the active change source's stats, whichever runs
	// (the key keeps its NOTIFY-era name so that existing clients work).
	Listener sourceStats `json:"listener"`
	// Dropped counts events this stream's mailbox lost (each loss is
	// followed by a resync frame); absent outside SSE.
	Dropped uint64 `json:"dropped,omitempty"`
	// Cluster is every instance's role and stream position in -cluster
	// mode (Listener then shows the leader's change source); absent
	// otherwise.
	Cluster *clusterStatus `json:"cluster,omitempty"`
	At      time.Time      `json:"at"`
}

// sourceStats is listener.Stats or replication.Stats with JSON names; the
// fields after Resyncs belong to one kind only.
type sourceStats struct {
	State      string `json:"state"` // stopped, connecting, listening (NOTIFY) / streaming (WAL), or ready
	Ready      bool   `json:"ready"`
	LastError  string `json:"last_error,omitempty"`
	Running    bool   `json:"running"`
	Connected  bool   `json:"connected"`
	Reconnects uint64 `json:"reconnects"`
	Received   uint64 `json:"received"`
	Published  uint64 `json:"published"`
	Resyncs    uint64 `json:"resyncs"`

	// NOTIFY only (present, even when 0, exactly in NOTIFY mode).
	Invalid    *uint64    `json:"invalid,omitempty"`
	Probes     *uint64    `json:"probes,omitempty"`
	LastListen *time.Time `json:"last_listen,omitempty"`

	// WAL only: the slot and publication, the position last confirmed to
	// the server (as PostgreSQL writes an LSN, "16/B374D848") and the WAL
	// the slot retains beyond it.
	Slot         string `json:"slot,omitempty"`
	Publication  string `json:"publication,omitempty"`
	ConfirmedLSN string `json:"confirmed_lsn,omitempty"`
	LagBytes     *int64 `json:"lag_bytes,omitempty"`
}

func fromListenerStats(s listener.Stats) sourceStats {
	out := sourceStats{
		State:      string(s.State),
		Ready:      s.Ready,
		LastError:  s.LastError,
		Running:    s.Running,
		Connected:  s.Connected,
		Reconnects: s.Reconnects,
		Received:   s.Received,
		Invalid:    &s.Invalid,
		Published:  s.Published,
		Probes:     &s.Probes,
		Resyncs:    s.Resyncs,
	}
	if !s.LastListen.IsZero() {
		t := s.LastListen
		out.LastListen = &t
	}
	return out
}

func fromReplicationStats(src *replication.Source) sourceStats {
	s := src.Stats()
	lag := s.LagBytes
	out := sourceStats{
		Ready:        s.Ready,
		LastError:    s.LastError,
		Running:      s.Running,
		Connected:    s.Connected,
		Reconnects:   s.Reconnects,
		Received:     s.Received,
		Published:    s.Published,
		Resyncs:      s.Resyncs,
		Slot:         src.Slot(),
		Publication:  src.Publication(),
		ConfirmedLSN: s.ConfirmedLSN.String(),
		LagBytes:     &lag,
	}
	// The Source has no state machine of its own to report: derive the
	// Listener's words from its flags.
	switch {
	case !s.Running:
		out.State = "stopped"
	case !s.Connected:
		out.State = "connecting"
	case !s.Ready:
		out.State = "streaming"
	default:
		out.State = "ready"
	}
	return out
}

// sourceStatus returns the kind and stats of the DB module's change source.
func sourceStatus(db *phoenixkitdb.DB) (string, sourceStats) {
	if src := db.Replication(); src != nil {
		return phoenixkitdb.SourceWAL.String(), fromReplicationStats(src)
	}
	return phoenixkitdb.SourceNotify.String(), fromListenerStats(db.Listener().Stats())
}

// status returns the current status; dropped is the stream's mailbox
// drop count (0 outside SSE).
func (w *web) status(dropped uint64) statusFrame {
	if w.Cluster != nil {
		return w.clusterFrame(dropped, 0)
	}
	kind, st := sourceStatus(w.DB)
	return statusFrame{
		Module:   w.Module,
		Enabled:  w.Registry.Enabled(w.Module),
		Source:   kind,
		Listener: st,
		Dropped:  dropped,
		At:       time.Now(),
	}
}

// resyncFrame is the JSON of an SSE resync frame: the page must reload.
type resyncFrame struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
