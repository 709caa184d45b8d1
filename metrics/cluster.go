package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// ClusterStats is what a member of a cluster (an app instance running the
// cluster module, github.com/phoenixkit/phoenixkitdb/cluster) reports at
// each scrape. Counters must only grow while the process runs.
type ClusterStats struct {
	// Leading: this instance holds the lease and runs the change source.
	Leading bool
	// Terms counts the leaderships this instance has held.
	Terms uint64
	// Published counts the events this instance's relay stored in the
	// stream while it led.
	Published uint64
	// Connected: this instance's follower consumes the stream right now.
	Connected bool
	// Position is the stream sequence the follower last handed to the
	// instance's PubSub; Lag is how many stream messages it has not yet.
	Position uint64
	Lag      uint64
	// TooLarge counts the changes this instance's relay sent as a Resync
	// because their message exceeded the NATS server's max_payload.
	TooLarge uint64
	// StreamLast is the stream's last sequence as the follower last saw
	// it (cluster.Stats.StreamLast). The alerts compute a follower's lag
	// as the highest StreamLast of all instances minus its Position, which
	// keeps growing for a follower that stopped consuming.
	StreamLast uint64
	// Stopped: the member is stopped on purpose (its module disabled,
	// the process draining), so the follower alerts leave it alone. A
	// member whose follower's Serve does not run
	// (!cl.Follower().Running()) is stopped. The zero value, for adapters
	// that do not say, is "enabled".
	Stopped bool
}

// Cluster exports a cluster member's role and follower position,
// labelled stream=<the JetStream stream>. stats runs at every scrape: it
// must be safe for concurrent use and quick (cluster.Cluster.Stats loads
// atomics and makes no request). The metrics module does not import the cluster module,
// so that exporting metrics pulls no NATS code; the adapter is one
// function:
//
//	metrics.Cluster(cfg.Stream, func() metrics.ClusterStats {
//		s := cl.Stats()
//		return metrics.ClusterStats{Leading: s.Leading, Terms: s.Terms, Published: s.Published,
//			Connected: s.Connected, Position: s.Position, Lag: s.Lag, TooLarge: s.TooLarge,
//			StreamLast: s.StreamLast, Stopped: !cl.Follower().Running()}
//	})
//
// Export the instance's change source and PubSub beside it as usual
// (Listener or FromSource, and PubSub).
func Cluster(stream string, stats func() ClusterStats) Target {
	if stats == nil {
		return Target{err: fmt.Errorf("%w: cluster stats func", ErrNilTarget)}
	}
	if stream == "" {
		return Target{err: fmt.Errorf("%w: cluster without a stream name", ErrInvalidLabels)}
	}
	return Target{clusters: []clusterTarget{{stream: stream, stats: stats}}}
}

// clusterTarget is one cluster member.
type clusterTarget struct {
	stream string
	stats  func() ClusterStats
}

func (c *Collector) collectCluster(ch chan<- prometheus.Metric, t clusterTarget) {
	d, st := &c.d, t.stats()
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, t.stream)
	}
	counter := func(desc *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), t.stream)
	}
	gauge(d.clLeader, boolValue(st.Leading))
	counter(d.clTerms, st.Terms)
	counter(d.clPublished, st.Published)
	gauge(d.clConnected, boolValue(st.Connected))
	gauge(d.clPosition, float64(st.Position))
	gauge(d.clLag, float64(st.Lag))
	counter(d.clTooLarge, st.TooLarge)
	gauge(d.clStreamLast, float64(st.StreamLast))
	gauge(d.clEnabled, boolValue(!st.Stopped))
}
