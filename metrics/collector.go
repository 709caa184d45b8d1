package metrics

import (
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector over change sources and PubSubs.
// It reads their Stats at every Collect: Describe and Collect are safe for
// concurrent use. Collect blocks as long as the sources' Stats (atomic
// loads and one short PubSub lock each) and, for a WAL source, one read
// of its slot from the server, bounded by 2 s and reused for 5 s (see
// ReplicationSource).
type Collector struct {
	d        descs
	sources  []Source
	pubsubs  []pubsubTarget
	clusters []clusterTarget
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector over targets. It fails, with an error wrapping
// ErrNilTarget, ErrInvalidLabels or ErrDuplicateLabels, for a target
// built from nil, a stream without a source or a name, and two sources
// (or two PubSubs, or two cluster members) with the same labels.
func New(targets ...Target) (*Collector, error) {
	c := &Collector{d: newDescs()}
	seenSource := make(map[Labels]bool)
	seenPubSub := make(map[Labels]bool)
	seenStream := make(map[string]bool)
	for _, t := range targets {
		if t.err != nil {
			return nil, t.err
		}
		for _, s := range t.sources {
			l := s.Labels()
			if err := checkLabels(l); err != nil {
				return nil, err
			}
			if seenSource[l] {
				return nil, fmt.Errorf("%w: source %+v", ErrDuplicateLabels, l)
			}
			seenSource[l] = true
			c.sources = append(c.sources, s)
		}
		for _, p := range t.pubsubs {
			if err := checkLabels(p.labels); err != nil {
				return nil, err
			}
			if seenPubSub[p.labels] {
				return nil, fmt.Errorf("%w: PubSub %+v", ErrDuplicateLabels, p.labels)
			}
			seenPubSub[p.labels] = true
			c.pubsubs = append(c.pubsubs, p)
		}
		for _, cl := range t.clusters {
			if seenStream[cl.stream] {
				return nil, fmt.Errorf("%w: cluster stream %q", ErrDuplicateLabels, cl.stream)
			}
			seenStream[cl.stream] = true
			c.clusters = append(c.clusters, cl)
		}
	}
	return c, nil
}

// Describe sends every metric description, whatever the targets: the
// set is fixed, so a registry checks names and labels once.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

// Collect reads every target's Stats and sends them as constant metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sources {
		l := s.Labels()
		// The server's reading first: it tells the adapter when the
		// stream was established, which SourceStats reports.
		ss, fromServer := s.(slotSource)
		var rd slotReading
		if fromServer {
			rd = ss.serverSlot()
		}
		st := s.SourceStats()
		c.collectSource(ch, l, st)
		switch {
		case fromServer:
			c.collectServerSlot(ch, l, rd)
		case st.Slot != nil:
			c.collectSlot(ch, l, float64(st.Slot.ConfirmedLSN), float64(st.Slot.LagBytes))
		}
	}
	for _, p := range c.pubsubs {
		c.collectPubSub(ch, p.labels, p.ps.Stats())
	}
	for _, cl := range c.clusters {
		c.collectCluster(ch, cl)
	}
}

func (c *Collector) collectSource(ch chan<- prometheus.Metric, l Labels, st SourceStats) {
	d, lv := &c.d, l.values()
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
	}
	counter := func(desc *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), lv...)
	}
	gauge(d.running, boolValue(st.Running))
	gauge(d.connected, boolValue(st.Connected))
	gauge(d.ready, boolValue(st.Ready))
	if !st.LastConnect.IsZero() {
		gauge(d.lastConnect, float64(st.LastConnect.UnixNano())/1e9)
	}
	counter(d.reconnects, st.Reconnects)
	counter(d.received, st.Received)
	if !st.NoPayloads {
		counter(d.invalid, st.Invalid)
	}
	counter(d.published, st.Published)
	if st.ProbeRTT != nil {
		counter(d.probes, st.Probes)
	}
	// A histogram whose counts do not match its bounds (a custom
	// adapter's bug) is left out rather than failing the whole scrape.
	if h := st.ProbeRTT; h != nil && len(h.Counts) == len(h.Bounds)+1 {
		count, sum, buckets := histogram(*st.ProbeRTT)
		ch <- prometheus.MustNewConstHistogram(d.probeRTT, count, sum, buckets, lv...)
	}
}

// collectSlot sends a slot's confirmed position and lag.
func (c *Collector) collectSlot(ch chan<- prometheus.Metric, l Labels, confirmed, lag float64) {
	ch <- prometheus.MustNewConstMetric(c.d.slotConfirmedLSN, prometheus.GaugeValue, confirmed, l.Source, l.Slot)
	ch <- prometheus.MustNewConstMetric(c.d.slotLag, prometheus.GaugeValue, lag, l.Source, l.Slot)
}

// collectServerSlot sends what a read of pg_replication_slots found: the
// read's success, then, if it succeeded, the slot's existence and, for a
// slot that exists, its state. The confirmed position and the lag go out
// whenever known (after a failed read, the source's own while it
// streams); a value nobody knows is left out, so it goes stale.
func (c *Collector) collectServerSlot(ch chan<- prometheus.Metric, l Labels, rd slotReading) {
	d := &c.d
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{l.Source, l.Slot}, extra...)...)
	}
	gauge(d.slotServerUp, boolValue(rd.err == nil))
	if rd.err == nil {
		gauge(d.slotExists, boolValue(rd.exists))
		if rd.exists {
			gauge(d.slotActive, boolValue(rd.active))
			if rd.walStatus != "" {
				for _, s := range walStatuses {
					gauge(d.slotWALStatus, boolValue(s == rd.walStatus), s)
				}
			}
			if rd.safeWALSize != nil {
				gauge(d.slotSafeWALSize, *rd.safeWALSize)
			}
		}
	}
	if rd.confirmed != nil && rd.lag != nil {
		c.collectSlot(ch, l, *rd.confirmed, max(*rd.lag, 0))
	}
}

func (c *Collector) collectPubSub(ch chan<- prometheus.Metric, l Labels, st pubsub.Stats) {
	d, lv := &c.d, l.values()
	counter := func(desc *prometheus.Desc, v uint64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), append(lv, extra...)...)
	}
	counter(d.psPublished, st.Published)
	counter(d.psDelivered, st.Delivered)
	counter(d.psDropped, st.Dropped)
	counter(d.psResync, st.Resyncs.Listen, string(pubsub.ReasonListen))
	counter(d.psResync, st.Resyncs.Overflow, string(pubsub.ReasonOverflow))
	counter(d.psResync, st.Resyncs.Manual, string(pubsub.ReasonManual))
	counter(d.psResync, st.Resyncs.Start, string(pubsub.ReasonStart))
	counter(d.psResync, st.Resyncs.Slot, string(pubsub.ReasonSlot))
	counter(d.psResync, st.Resyncs.Reconnect, string(pubsub.ReasonReconnect))
	counter(d.psResync, st.Resyncs.Other, "other")
	ch <- prometheus.MustNewConstMetric(d.psMailboxes, prometheus.GaugeValue, float64(st.Mailboxes), lv...)
	ch <- prometheus.MustNewConstMetric(d.psTopics, prometheus.GaugeValue, float64(st.Topics), lv...)
}

// histogram converts a listener.Histogram to Prometheus's form: seconds,
// cumulative bucket counts by upper bound. The count is the buckets'
// total, so that it always matches the +Inf bucket.
func histogram(h listener.Histogram) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		count += h.Counts[i]
		buckets[b.Seconds()] = count
	}
	for _, n := range h.Counts[len(h.Bounds):] {
		count += n
	}
	return count, h.Sum.Seconds(), buckets
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
