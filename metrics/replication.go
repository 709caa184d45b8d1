package metrics

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Replication exports a WAL change source and its PubSub, labelled
// source="wal" and the replication slot. The slot's gauges are read from
// the server (see ReplicationSource), so they keep meaning while the
// source is stopped or cut off.
func Replication(src *replication.Source) Target {
	t := ReplicationSource(src)
	if t.err == nil {
		t.pubsubs = []pubsubTarget{{ps: src.PubSub(), labels: t.sources[0].Labels()}}
	}
	return t
}

// ReplicationSource exports a WAL change source without its PubSub: what
// a cluster member exports for the source it runs while it leads, whose
// PubSub only feeds the relay.
//
// At each scrape it reads the slot's state from pg_replication_slots on a
// short connection of its own (the source's connection string, an
// ordinary session, application_name phoenixkitdb-replication-monitor
// unless the string names one), bounded by 2 s and reused for 5 s: its
// existence, whether a reader holds it, wal_status, safe_wal_size, the
// confirmed position and the lag (the server's WAL position, on a standby
// the replayed one, minus confirmed_flush_lsn). So the lag rises while
// the source is disconnected, stopped or disabled, and is never reset. When
// that read fails, phoenixkitdb_slot_server_up is 0 and the lag comes from
// the source itself while it streams, and is absent otherwise: a value
// nobody can vouch for goes stale rather than frozen.
func ReplicationSource(src *replication.Source) Target {
	if src == nil {
		return Target{err: fmt.Errorf("%w: replication.Source", ErrNilTarget)}
	}
	s := &replicationSource{s: src, reader: newSlotReader(src.Slot(), src.MonitorConfig)}
	return Target{sources: []Source{s}}
}

// replicationSource adapts a replication.Source to Source, with the
// slot's state read from the server.
type replicationSource struct {
	s      *replication.Source
	reader *slotReader
	// lastConnect is the walsender's backend_start, in Unix nanoseconds,
	// last seen while this source streamed: it outlives the connection.
	lastConnect atomic.Int64
}

func (r *replicationSource) Labels() Labels { return Labels{Source: SourceWAL, Slot: r.s.Slot()} }

// SourceStats reports the source's counters; the slot's come from
// serverSlot.
func (r *replicationSource) SourceStats() SourceStats {
	st := r.s.Stats()
	out := SourceStats{
		Running:    st.Running,
		Connected:  st.Connected,
		Ready:      st.Ready,
		Reconnects: st.Reconnects,
		Received:   st.Received,
		Published:  st.Published,
		// pgoutput is a binary protocol: what does not decode fails the
		// connection, so nothing is counted as an invalid payload.
		NoPayloads: true,
	}
	if ns := r.lastConnect.Load(); ns != 0 {
		out.LastConnect = time.Unix(0, ns)
	}
	return out
}

// serverSlot reads the slot's state for a scrape, falling back to the
// source's own figures while it streams and the server cannot be read.
func (r *replicationSource) serverSlot() slotReading {
	connected := r.s.Connected()
	rd := r.reader.read()
	if rd.err == nil && connected && rd.active && !rd.walsenderStart.IsZero() {
		// The source streams, so the walsender that holds its slot is its
		// own: one walsender per slot.
		r.lastConnect.Store(rd.walsenderStart.UnixNano())
	}
	if rd.err != nil && r.s.Connected() {
		// The source's own figures are fresh while it streams: the server
		// reports its WAL end in every keepalive.
		st := r.s.Stats()
		confirmed, lag := float64(st.ConfirmedLSN), float64(max(st.LagBytes, 0))
		rd.confirmed, rd.lag = &confirmed, &lag
	}
	return rd
}

// slotSource is implemented by adapters that read their slot from the
// server (replicationSource); the collector exports that reading instead
// of SourceStats.Slot. A failed reading may still carry the source's own
// confirmed position and lag.
type slotSource interface {
	serverSlot() slotReading
}
