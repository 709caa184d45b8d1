package metrics_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// The series the slot alerts read, as scraped.
var slotSeries = []string{
	"phoenixkitdb_slot_lag_bytes", "phoenixkitdb_slot_exists", "phoenixkitdb_slot_active",
	"phoenixkitdb_slot_server_up", "phoenixkitdb_source_running", "phoenixkitdb_source_connected",
	"phoenixkitdb_source_ready",
}

// walScrapes builds a collector over b's Source that reads the server at
// every scrape, registered with the job and instance labels Prometheus
// would add, and a log of the slot alerts' series.
func walScrapes(t *testing.T, b *walBundle) *seriesLog {
	t.Helper()
	target := metrics.Replication(b.src)
	metrics.SetSlotReadMaxAge(target, 0)
	c, err := metrics.New(target)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	prometheus.WrapRegistererWith(prometheus.Labels{"job": "phoenixkitdb", "instance": "app:8080"}, reg).MustRegister(c)
	return newSeriesLog(reg, slotSeries...)
}

const lagKey = `phoenixkitdb_slot_lag_bytes{instance="app:8080",job="phoenixkitdb",slot="cut_slot",source="wal"}`

// A WAL source stopped cleanly (its module disabled) while the database
// takes writes: the slot lag, read from the server, rises with the WAL the
// server keeps, never reads 0, and PhoenixKitDBSlotLag and
// PhoenixKitDBSlotWithoutReader fire in promtool fed with the scraped
// series (each scrape one minute, the last held for 20).
func TestSlotLagRisesWhileSourceStopped(t *testing.T) {
	promtoolPath(t)
	const slot = "cut_slot"
	b := walSetup(t, slot)
	stop := b.serve()
	log := walScrapes(t, b)
	b.insert(t, 1, 10)
	eventually(t, 30*time.Second, "10 changes published and confirmed", func() bool {
		return b.src.Stats().Published == 10 && b.serverLag(t, slot) < 1<<20
	})
	first := log.scrape(t)
	if first[lagKey] >= 1<<20 {
		t.Fatalf("lag while streaming = %v, want under 1 MiB", first[lagKey])
	}

	stop()
	prev := first[lagKey]
	for i := range 4 {
		b.advanceWAL(t, 300<<20)
		got := log.scrape(t)
		lag, ok := got[lagKey]
		server := b.serverLag(t, slot)
		if !ok || lag <= prev || lag > float64(server) {
			t.Fatalf("scrape %d after the stop: lag %v (exported %v), previous %v, the server says %d: want it rising up to the server's", i+1, lag, ok, prev, server)
		}
		prev = lag
	}
	if prev <= 1<<30 {
		t.Fatalf("lag %v after writing 1.2 GB, want over 1 GiB", prev)
	}
	slotLabels := map[string]string{"job": "phoenixkitdb", "instance": "app:8080", "source": "wal", "slot": slot}
	log.ruleTest(t, 20, 20, map[string][]alertWant{
		"PhoenixKitDBSlotLag": {{
			labels: with(slotLabels, "severity", "critical"),
			annotations: map[string]string{
				"summary":     "replication slot " + slot + " holds " + humanize1024(prev) + "B of WAL",
				"description": "The server's disk fills with it; if max_slot_wal_keep_size is set the slot will be lost and must be rebuilt.",
			},
		}},
		"PhoenixKitDBSlotWithoutReader": {{
			labels: map[string]string{"severity": "warning", "slot": slot},
			annotations: map[string]string{
				"summary":     "replication slot " + slot + " exists but no instance runs its WAL source",
				"description": "Enable the module, or drop the slot (replication.DropSlot) if WAL mode is no longer used.",
			},
		}},
		// Stopped on purpose: not a lost connection.
		"PhoenixKitDBNotConnected": nil,
	})
}

// A running WAL source whose network path to the database is cut (its
// connection closed, new ones frozen): the slot cannot be read either, so
// the lag is not exported (it goes stale instead of freezing), and
// PhoenixKitDBNotConnected and PhoenixKitDBSlotUnreadable fire in promtool
// fed with the scraped series.
func TestSlotLagStaleWhileSourceCutOff(t *testing.T) {
	promtoolPath(t)
	const slot = "cut_slot"
	b := walSetup(t, slot)
	b.serve()
	log := walScrapes(t, b)
	b.insert(t, 1, 10)
	eventually(t, 30*time.Second, "10 changes published", func() bool { return b.src.Stats().Published == 10 })
	if got := log.scrape(t); got[lagKey] >= 1<<20 {
		t.Fatalf("lag while streaming = %v, want under 1 MiB", got[lagKey])
	}

	b.proxy.Freeze()
	b.proxy.CutAll()
	eventually(t, 30*time.Second, "the source disconnected", func() bool { return !b.src.Stats().Connected })
	b.insert(t, 11, 10)
	for i := range 3 {
		got := log.scrape(t)
		if v, ok := got[lagKey]; ok {
			t.Fatalf("scrape %d while cut off: lag %v exported, want it absent (nobody can read it)", i+1, v)
		}
	}
	labels := map[string]string{"job": "phoenixkitdb", "instance": "app:8080", "source": "wal", "slot": slot}
	log.ruleTest(t, 10, 10, map[string][]alertWant{
		"PhoenixKitDBNotConnected": {{
			labels: with(labels, "severity", "critical"),
			annotations: map[string]string{
				"summary":     "phoenixkitdb wal slot " + slot + " not connected for 1 minute on app:8080",
				"description": "The source retries with backoff; its last error is in the host's log and /healthz.",
			},
		}},
		"PhoenixKitDBSlotUnreadable": {{
			labels:      with(labels, "severity", "warning"),
			annotations: map[string]string{"summary": "app:8080 cannot read replication slot " + slot + " from the server: its lag is unknown"},
		}},
		"PhoenixKitDBSlotLag": nil,
	})
	b.proxy.Thaw()
}

// with returns a copy of m with the given key, value pairs added.
func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// humanize1024 formats v as Prometheus's template function humanize1024
// does: four significant digits and a binary prefix (ki, Mi, Gi, ...).
func humanize1024(v float64) string {
	if math.Abs(v) <= 1 {
		return fmt.Sprintf("%.4g", v)
	}
	prefix := ""
	for _, p := range []string{"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"} {
		if math.Abs(v) < 1024 {
			break
		}
		prefix, v = p, v/1024
	}
	return fmt.Sprintf("%.4g%s", v, prefix)
}
