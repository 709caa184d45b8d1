package metrics

import "github.com/prometheus/client_golang/prometheus"

// namespace prefixes every metric name.
const namespace = "phoenixkitdb"

// streamLabels are the variable labels of every stream metric, in the
// order of Labels.values.
var streamLabels = []string{"source", "channel", "slot"}

// descs are the collector's metric descriptions. They are built by
// newDescs for each Collector: nothing here is package-level state.
type descs struct {
	running, connected, ready, lastConnect        *prometheus.Desc
	reconnects, received, invalid, published      *prometheus.Desc
	probes, probeRTT                              *prometheus.Desc
	slotConfirmedLSN, slotLag                     *prometheus.Desc
	slotServerUp, slotExists, slotActive          *prometheus.Desc
	slotWALStatus, slotSafeWALSize                *prometheus.Desc
	psPublished, psDelivered, psDropped, psResync *prometheus.Desc
	psMailboxes, psTopics                         *prometheus.Desc
	clLeader, clTerms, clPublished                *prometheus.Desc
	clConnected, clPosition, clLag                *prometheus.Desc
	clTooLarge, clEnabled, clStreamLast           *prometheus.Desc
}

func newDescs() descs {
	source := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "source", name), help, streamLabels, nil)
	}
	slot := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "slot", name), help, append([]string{"source", "slot"}, extra...), nil)
	}
	ps := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "pubsub", name), help, append(append([]string(nil), streamLabels...), extra...), nil)
	}
	cl := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "cluster", name), help, []string{"stream"}, nil)
	}
	return descs{
		running:     source("running", "1 while the change source's Serve runs, else 0."),
		connected:   source("connected", "1 while the change source holds a connection that receives changes, else 0."),
		ready:       source("ready", "1 while changes are known to flow (a notification from another session came through), else 0."),
		lastConnect: source("last_connect_timestamp_seconds", "Unix time at which the stream (LISTEN or replication) was last established."),
		reconnects:  source("reconnects_total", "Times the stream was re-established after the first time since Serve started."),
		received:    source("received_total", "Notifications (notify) or changes (wal) received."),
		invalid:     source("invalid_payloads_total", "Received payloads that could not be parsed and were dropped."),
		published:   source("published_total", "Changes the source handed to its PubSub."),
		probes:      source("probes_total", "Liveness probes sent on idle connections."),
		probeRTT:    source("probe_rtt_seconds", "Round-trip time of liveness probes: from sending the probe to reading its echo."),

		slotConfirmedLSN: slot("confirmed_flush_lsn_bytes", "The replication slot's confirmed_flush_lsn as a byte position in the WAL."),
		slotLag:          slot("lag_bytes", "WAL bytes the server holds for the replication slot beyond its confirmed position: its WAL position (replayed, on a standby) minus confirmed_flush_lsn."),
		slotServerUp:     slot("server_up", "1 when the scrape read the slot's state from the server (a read at most 5 s old is reused), 0 when that read failed."),
		slotExists:       slot("exists", "1 while the server has the replication slot, 0 when it has none by that name."),
		slotActive:       slot("active", "1 while a walsender streams from the slot (this source or another reader), else 0."),
		slotWALStatus:    slot("wal_status", "1 for the slot's wal_status (reserved, extended, unreserved, lost), 0 for the others.", "status"),
		slotSafeWALSize:  slot("safe_wal_size_bytes", "WAL bytes that can still be written before the slot is in danger of being lost (max_slot_wal_keep_size); absent while that is unlimited."),

		psPublished: ps("published_total", "Events accepted by the PubSub for delivery."),
		psDelivered: ps("delivered_total", "Events put into subscribers' mailboxes (one per mailbox reached)."),
		psDropped:   ps("dropped_total", "Events lost because a subscriber's mailbox was full; each loss is followed by a Resync."),
		psResync:    ps("resyncs_total", "Resync events sent to mailboxes, by reason (listen, overflow, resync for a manual one, start, slot, reconnect, other).", "reason"),
		psMailboxes: ps("mailboxes", "Mailboxes with at least one subscription."),
		psTopics:    ps("topics", "Topics with at least one subscriber."),

		clLeader:     cl("leader", "1 while this instance leads the cluster (holds the lease and runs the change source), else 0."),
		clTerms:      cl("terms_total", "Leaderships this instance has held."),
		clPublished:  cl("published_total", "Events this instance's relay stored in the stream while it led."),
		clConnected:  cl("follower_connected", "1 while this instance's follower consumes the stream, else 0."),
		clPosition:   cl("follower_position", "Stream sequence this instance's follower last handed to its PubSub."),
		clLag:        cl("follower_lag_messages", "Stream messages this instance's follower has not handed to its PubSub yet (the stream's last sequence as it last saw it, minus its position)."),
		clEnabled:    cl("member_enabled", "1 while this instance's cluster module is enabled, 0 while it is stopped on purpose (disabled, draining)."),
		clStreamLast: cl("stream_last_sequence", "The stream's last sequence as this instance's follower last saw it; the maximum over instances minus an instance's follower_position is its lag."),
		clTooLarge:   cl("too_large_total", "Changes this instance's relay sent as a Resync (reason cluster-too-large) because their message exceeded the NATS server's max_payload."),
	}
}

// all returns every description, for Describe.
func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.running, d.connected, d.ready, d.lastConnect,
		d.reconnects, d.received, d.invalid, d.published,
		d.probes, d.probeRTT,
		d.slotConfirmedLSN, d.slotLag,
		d.slotServerUp, d.slotExists, d.slotActive, d.slotWALStatus, d.slotSafeWALSize,
		d.psPublished, d.psDelivered, d.psDropped, d.psResync,
		d.psMailboxes, d.psTopics,
		d.clLeader, d.clTerms, d.clPublished,
		d.clConnected, d.clPosition, d.clLag,
		d.clTooLarge, d.clEnabled, d.clStreamLast,
	}
}
