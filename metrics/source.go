package metrics

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
)

// Values of Labels.Source.
const (
	SourceNotify = "notify" // the LISTEN/NOTIFY Listener
	SourceWAL    = "wal"    // a logical replication source
)

// Labels identify one stream of changes in every metric about it: Source
// is SourceNotify or SourceWAL, Channel the notification channel (notify)
// and Slot the replication slot (wal). Leave the one that does not apply
// empty.
type Labels struct {
	Source, Channel, Slot string
}

// values returns the label values in the order of streamLabels.
func (l Labels) values() []string { return []string{l.Source, l.Channel, l.Slot} }

// SlotStats is the state of a replication slot, in bytes of WAL.
type SlotStats struct {
	// ConfirmedLSN is the slot's confirmed_flush_lsn as a byte position:
	// the server may discard the WAL before it.
	ConfirmedLSN uint64
	// LagBytes is how much WAL the server holds for the slot beyond it.
	LagBytes uint64
}

// SourceStats is what a change source reports at each scrape. Counters
// must only grow while the process runs.
type SourceStats struct {
	Running   bool // its Serve runs
	Connected bool // it holds a connection that receives changes
	Ready     bool // changes are known to flow (see listener.Listener.Ready)

	Reconnects uint64 // stream re-established after the first time
	Received   uint64 // notifications or changes received
	Invalid    uint64 // of those, payloads that could not be parsed
	Published  uint64 // changes handed to the PubSub
	Probes     uint64 // liveness probes sent; exported only with ProbeRTT

	// NoPayloads says the source parses no payloads (a WAL source decodes
	// a binary protocol and fails the connection on what does not
	// decode): invalid_payloads_total is then not exported rather than
	// always 0.
	NoPayloads bool

	// LastConnect is when the stream was last established; zero if never.
	LastConnect time.Time
	// ProbeRTT holds probe round-trip times; nil when the source does not
	// probe, and then neither it nor probes_total is exported.
	ProbeRTT *listener.Histogram
	// Slot is the replication slot's state; nil for a source without one.
	Slot *SlotStats
}

// Source is a change source the collector reads at scrape time. Both
// methods must be safe for concurrent use and must not block for long:
// they run during a scrape. Labels must return the same value every time.
type Source interface {
	Labels() Labels
	SourceStats() SourceStats
}

// listenerSource adapts a Listener to Source.
type listenerSource struct{ l *listener.Listener }

func (s listenerSource) Labels() Labels {
	return Labels{Source: SourceNotify, Channel: s.l.Channel()}
}

func (s listenerSource) SourceStats() SourceStats {
	st := s.l.Stats()
	rtt := s.l.ProbeRTT()
	return SourceStats{
		Running:     st.Running,
		Connected:   st.Connected,
		Ready:       st.Ready,
		Reconnects:  st.Reconnects,
		Received:    st.Received,
		Invalid:     st.Invalid,
		Published:   st.Published,
		Probes:      st.Probes,
		LastConnect: st.LastListen,
		ProbeRTT:    &rtt,
	}
}
