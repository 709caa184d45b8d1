package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics and parses the text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, hdr := get(t, &http.Client{Timeout: 5 * time.Second}, http.MethodGet, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	return mfs
}

// value returns the value of the family's only series.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: %v, want one series", name, mf)
	}
	m := mf.GetMetric()[0]
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// The app serves the DB module's metrics, with the Go runtime's, at
// /metrics; a change written to the database shows in them.
func TestMetricsEndpoint(t *testing.T) {
	b := setup(t, setupOptions{})
	waitFor(t, 30*time.Second, "Listener ready", b.a.db.Changes().Ready)
	url := b.ts.URL + "/metrics"

	mfs := scrape(t, url)
	for name, typ := range map[string]dto.MetricType{
		"phoenixkitdb_source_connected":         dto.MetricType_GAUGE,
		"phoenixkitdb_source_received_total":    dto.MetricType_COUNTER,
		"phoenixkitdb_source_probe_rtt_seconds": dto.MetricType_HISTOGRAM,
		"phoenixkitdb_pubsub_resyncs_total":     dto.MetricType_COUNTER,
		"go_goroutines":                         dto.MetricType_GAUGE,
	} {
		if mf := mfs[name]; mf == nil || mf.GetType() != typ {
			t.Errorf("%s: %v, want a %v", name, mf, typ)
		}
	}
	if v := value(t, mfs, "phoenixkitdb_source_connected"); v != 1 {
		t.Errorf("phoenixkitdb_source_connected = %v, want 1", v)
	}
	for _, l := range mfs["phoenixkitdb_source_connected"].GetMetric()[0].GetLabel() {
		if l.GetName() == "channel" && l.GetValue() != "phoenix_kit_db_changes" {
			t.Errorf("channel label %q", l.GetValue())
		}
	}
	before := value(t, mfs, "phoenixkitdb_source_received_total")

	b.exec(t, `INSERT INTO demo.orders (amount_cents, status) VALUES (100, 'paid')`)
	waitFor(t, 30*time.Second, "the change counted at /metrics", func() bool {
		return value(t, scrape(t, url), "phoenixkitdb_source_received_total") == before+1
	})
}
