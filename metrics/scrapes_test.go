package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Modes a host exports metrics in.
const (
	modeNotify  = "notify"
	modeWAL     = "wal"
	modeCluster = "cluster"
)

// modeRegistries returns, for each mode, a registry over the real
// adapters of sources that run and have carried changes: a DB module in
// NOTIFY mode (metrics.DB), a WAL Source streaming from its slot
// (metrics.Replication), and a cluster member as the example host exports
// one (the WAL Source without its PubSub, the member's PubSub, and its
// role through metrics.Cluster; the metrics module does not import the
// cluster module, so the member's stats are a func here as in a host).
func modeRegistries(t *testing.T) map[string]*prometheus.Registry {
	t.Helper()
	regs := map[string]*prometheus.Registry{}
	register := func(mode string, targets ...metrics.Target) {
		c, err := metrics.New(targets...)
		if err != nil {
			t.Fatalf("%s: metrics.New: %v", mode, err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		regs[mode] = reg
	}

	mb := pubsub.NewMailbox(100)
	t.Cleanup(mb.Close)
	nb := setup(t, func(db *phoenixkitdb.DB) {
		if err := db.Listener().SubscribeAll(mb); err != nil {
			t.Fatal(err)
		}
	})
	nb.notify(t, "public.users:INSERT:1", "not a payload")
	eventually(t, 30*time.Second, "2 notifications", func() bool { return nb.db.Listener().Stats().Received == 2 })
	regs[modeNotify] = prometheus.NewPedanticRegistry()
	regs[modeNotify].MustRegister(nb.c)

	wb := walSetup(t, "modes_slot")
	wb.serve()
	wb.insert(t, 1, 3)
	eventually(t, 30*time.Second, "3 changes published", func() bool { return wb.src.Stats().Published == 3 })
	register(modeWAL, metrics.Replication(wb.src))

	member := pubsub.New(slog.New(slog.DiscardHandler))
	register(modeCluster, metrics.ReplicationSource(wb.src),
		metrics.PubSub(member, metrics.Labels{Source: metrics.SourceWAL, Slot: wb.src.Slot()}),
		metrics.Cluster("PHOENIXKITDB", func() metrics.ClusterStats {
			return metrics.ClusterStats{Leading: true, Terms: 1, Published: 3, Connected: true, Position: 3, StreamLast: 3}
		}))
	return regs
}

// families gathers reg and returns its metric families by name.
func families(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// scrape reads reg the way Prometheus does: GET /metrics in the text
// format, through promhttp.
func scrape(t *testing.T, reg *prometheus.Registry) []byte {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s %v\n%s", resp.Status, err, body)
	}
	return body
}
