package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/prometheus/client_golang/prometheus"
)

// clusterMetricsHandler serves GET /metrics in -cluster mode: for each
// instance, its change source (which runs while it leads), the PubSub its
// follower feeds and its cluster role and lag (metrics.Cluster), all
// labelled member="N" since one process holds the three; plus the Go
// runtime's and the process's metrics once.
func clusterMetricsHandler(cs *clusterSet, logger *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, m := range cs.members {
		var labels metrics.Labels
		var source metrics.Target
		switch src := m.cl.Source().(type) {
		case *listener.Listener:
			labels = metrics.Labels{Source: metrics.SourceNotify, Channel: src.Channel()}
			source = metrics.Listener(src)
		case *replication.Source:
			// Without its PubSub, which only feeds the relay: the one
			// subscribers read is the DB's, exported with the same labels.
			labels = metrics.Labels{Source: metrics.SourceWAL, Slot: src.Slot()}
			source = metrics.ReplicationSource(src)
		default:
			return nil, fmt.Errorf("supervisor_example: metrics: unknown change source %T", src)
		}
		cl := m.cl
		c, err := metrics.New(source, metrics.PubSub(m.db.PubSub(), labels),
			metrics.Cluster(cs.stream, func() metrics.ClusterStats {
				s := cl.Stats()
				return metrics.ClusterStats{
					Leading: s.Leading, Terms: s.Terms, Published: s.Published,
					Connected: s.Connected, Position: s.Position, Lag: s.Lag, TooLarge: s.TooLarge,
					StreamLast: s.StreamLast, Stopped: !cl.Follower().Running(),
				}
			}))
		if err != nil {
			return nil, err
		}
		if err := prometheus.WrapRegistererWith(prometheus.Labels{"member": strconv.Itoa(m.n)}, reg).Register(c); err != nil {
			return nil, err
		}
	}
	return serveRegistry(reg, logger)
}
