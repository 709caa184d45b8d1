package metrics

import (
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Replication exports a WAL change source and its PubSub, labelled
// source="wal" and the replication slot; its slot's confirmed position
// and lag go in the phoenixkitdb_slot_ gauges.
func Replication(src *replication.Source) Target {
	if src == nil {
		return Target{err: fmt.Errorf("%w: replication.Source", ErrNilTarget)}
	}
	s := replicationSource{src}
	return Target{sources: []Source{s}, pubsubs: []pubsubTarget{{ps: src.PubSub(), labels: s.Labels()}}}
}

// replicationSource adapts a replication.Source to Source.
type replicationSource struct{ s *replication.Source }

func (r replicationSource) Labels() Labels { return Labels{Source: SourceWAL, Slot: r.s.Slot()} }

func (r replicationSource) SourceStats() SourceStats {
	st := r.s.Stats()
	return SourceStats{
		Running:    st.Running,
		Connected:  st.Connected,
		Ready:      st.Ready,
		Reconnects: st.Reconnects,
		Received:   st.Received,
		Published:  st.Published,
		// The lag is the server's WAL end as last reported minus the
		// confirmed position; a report older than the confirmation can
		// make it negative for a moment.
		Slot: &SlotStats{ConfirmedLSN: st.ConfirmedLSN, LagBytes: uint64(max(st.LagBytes, 0))},
	}
}
