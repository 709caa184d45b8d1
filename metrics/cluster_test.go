package metrics_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A cluster member's role, terms, relay count and follower position and
// lag are read at every scrape from its stats func and labelled by
// stream; a member that loses the lead shows it at the next scrape.
func TestClusterMetrics(t *testing.T) {
	var leading atomic.Bool
	leading.Store(true)
	stats := func() metrics.ClusterStats {
		return metrics.ClusterStats{
			Leading: leading.Load(), Terms: 2, Published: 40, Connected: true, Position: 37, Lag: 3, TooLarge: 1,
		}
	}
	c, err := metrics.New(metrics.Cluster("PHOENIXKITDB", stats))
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP phoenixkitdb_cluster_follower_connected 1 while this instance's follower consumes the stream, else 0.
# TYPE phoenixkitdb_cluster_follower_connected gauge
phoenixkitdb_cluster_follower_connected{stream="PHOENIXKITDB"} 1
# HELP phoenixkitdb_cluster_follower_lag_messages Stream messages this instance's follower has not handed to its PubSub yet (the stream's last sequence as it last saw it, minus its position).
# TYPE phoenixkitdb_cluster_follower_lag_messages gauge
phoenixkitdb_cluster_follower_lag_messages{stream="PHOENIXKITDB"} 3
# HELP phoenixkitdb_cluster_follower_position Stream sequence this instance's follower last handed to its PubSub.
# TYPE phoenixkitdb_cluster_follower_position gauge
phoenixkitdb_cluster_follower_position{stream="PHOENIXKITDB"} 37
# HELP phoenixkitdb_cluster_leader 1 while this instance leads the cluster (holds the lease and runs the change source), else 0.
# TYPE phoenixkitdb_cluster_leader gauge
phoenixkitdb_cluster_leader{stream="PHOENIXKITDB"} 1
# HELP phoenixkitdb_cluster_published_total Events this instance's relay stored in the stream while it led.
# TYPE phoenixkitdb_cluster_published_total counter
phoenixkitdb_cluster_published_total{stream="PHOENIXKITDB"} 40
# HELP phoenixkitdb_cluster_terms_total Leaderships this instance has held.
# TYPE phoenixkitdb_cluster_terms_total counter
phoenixkitdb_cluster_terms_total{stream="PHOENIXKITDB"} 2
# HELP phoenixkitdb_cluster_too_large_total Changes this instance's relay sent as a Resync (reason cluster-too-large) because their message exceeded the NATS server's max_payload.
# TYPE phoenixkitdb_cluster_too_large_total counter
phoenixkitdb_cluster_too_large_total{stream="PHOENIXKITDB"} 1
`
	names := []string{
		"phoenixkitdb_cluster_follower_connected", "phoenixkitdb_cluster_follower_lag_messages",
		"phoenixkitdb_cluster_follower_position", "phoenixkitdb_cluster_leader",
		"phoenixkitdb_cluster_published_total", "phoenixkitdb_cluster_terms_total", "phoenixkitdb_cluster_too_large_total",
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	leading.Store(false)
	lost := `# HELP phoenixkitdb_cluster_leader 1 while this instance leads the cluster (holds the lease and runs the change source), else 0.
# TYPE phoenixkitdb_cluster_leader gauge
phoenixkitdb_cluster_leader{stream="PHOENIXKITDB"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(lost), "phoenixkitdb_cluster_leader"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// Cluster targets are checked like the others: a nil func, no stream
// name, and one stream twice in one collector fail New.
func TestClusterRejects(t *testing.T) {
	stats := func() metrics.ClusterStats { return metrics.ClusterStats{} }
	for _, tc := range []struct {
		name    string
		targets []metrics.Target
		want    error
	}{
		{"nil func", []metrics.Target{metrics.Cluster("S", nil)}, metrics.ErrNilTarget},
		{"no stream", []metrics.Target{metrics.Cluster("", stats)}, metrics.ErrInvalidLabels},
		{"same stream twice", []metrics.Target{metrics.Cluster("S", stats), metrics.Cluster("S", stats)}, metrics.ErrDuplicateLabels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := metrics.New(tc.targets...); !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
		})
	}
}
