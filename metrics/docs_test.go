package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricToken finds metric names in PromQL and prose.
var metricToken = regexp.MustCompile(`phoenixkitdb_[a-z0-9_]+`)

// exported returns every metric family the collector can export, by name:
// a source with probes and a slot, a PubSub and a cluster member.
func exported(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	src := walSource("s", 1)
	src.stats.LastConnect = time.Now()
	src.stats.ProbeRTT = &listener.Histogram{Bounds: []time.Duration{time.Millisecond}, Counts: []uint64{1, 0}, Count: 1, Sum: time.Millisecond}
	c, err := metrics.New(metrics.FromSource(src), metrics.PubSub(pubsub.New(nil), metrics.Labels{Source: metrics.SourceWAL, Slot: "s"}),
		metrics.Cluster("S", func() metrics.ClusterStats { return metrics.ClusterStats{} }))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]dto.MetricType)
	for _, mf := range mfs {
		names[mf.GetName()] = mf.GetType()
	}
	if len(names) != 25 {
		t.Fatalf("the collector exported %d families, want all 25: %v", len(names), names)
	}
	return names
}

// known reports whether token names an exported metric, or a histogram's
// _bucket, _sum or _count series.
func known(names map[string]dto.MetricType, token string) bool {
	if _, ok := names[token]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(token, suffix); ok && names[base] == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

func readDoc(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dashboard is the part of Grafana's dashboard model the test checks.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
			Query      struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type, UID string
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// docs/grafana-dashboard.json is a dashboard Grafana imports (a data
// source input, unique panel ids, panels on the 24-column grid, a query
// per target) whose every query uses only metrics the collector exports.
func TestGrafanaDashboard(t *testing.T) {
	names := exported(t)
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(readDoc(t, "grafana-dashboard.json"))))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want one Prometheus data source DS_PROMETHEUS", d.Inputs)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("title %q, uid %q, schemaVersion %d, %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	var queries []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v off the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if !slices.Contains([]string{"stat", "timeseries"}, p.Type) || p.Title == "" {
			t.Errorf("panel %d: type %q title %q", p.ID, p.Type, p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %+v, want the DS_PROMETHEUS input", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			queries = append(queries, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		queries = append(queries, v.Definition, v.Query.Query)
	}
	used := map[string]bool{}
	for _, q := range queries {
		if !balanced(q) {
			t.Errorf("unbalanced brackets in %q", q)
		}
		for _, tok := range metricToken.FindAllString(q, -1) {
			used[tok] = true
			if !known(names, tok) {
				t.Errorf("the dashboard queries %s, which the collector does not export (in %q)", tok, q)
			}
		}
	}
	if len(used) < 10 {
		t.Errorf("the dashboard uses only %d metrics: %v", len(used), used)
	}
}

// docs/operations.md documents every metric the collector exports and
// names none it does not (its alert rules included).
func TestOperationsGuideListsEveryMetric(t *testing.T) {
	names := exported(t)
	doc := string(readDoc(t, "operations.md"))
	for name := range names {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/operations.md does not document %s", name)
		}
	}
	for _, tok := range metricToken.FindAllString(doc, -1) {
		if !known(names, tok) {
			t.Errorf("docs/operations.md names %s, which the collector does not export", tok)
		}
	}
}

// balanced reports whether q's (), [] and {} nest properly, outside quotes.
func balanced(q string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for _, r := range q {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !inQuote
}
