package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricToken finds metric names in PromQL and prose.
var metricToken = regexp.MustCompile(`phoenixkitdb_[a-z0-9_]+`)

// allFamilies is how many metric families the collector can export.
const allFamilies = 32

// exportedBy returns, for each mode, the metric families its real
// adapters exported (see modeRegistries), by name; and every name in any
// mode under "".
func exportedBy(t *testing.T, regs map[string]*prometheus.Registry) map[string]map[string]dto.MetricType {
	t.Helper()
	out := map[string]map[string]dto.MetricType{"": {}}
	for mode, reg := range regs {
		out[mode] = map[string]dto.MetricType{}
		for name, mf := range families(t, reg) {
			out[mode][name] = mf.GetType()
			out[""][name] = mf.GetType()
		}
	}
	if len(out[""]) != allFamilies {
		t.Fatalf("the real adapters exported %d families, want all %d: %v", len(out[""]), allFamilies, out[""])
	}
	return out
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

// The docs are checked against what the real adapters export in each
// mode, and each mode's scrape passes promtool check metrics.
func TestRealScrapes(t *testing.T) {
	regs := modeRegistries(t)
	names := exportedBy(t, regs)
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, names) })
	t.Run("operations guide", func(t *testing.T) { checkOperationsGuide(t, names[""]) })
	t.Run("alert rules", func(t *testing.T) { checkAlertMetrics(t, names[""]) })
	for _, mode := range []string{modeNotify, modeWAL, modeCluster} {
		t.Run("promtool check metrics "+mode, func(t *testing.T) {
			promtool(t, scrape(t, regs[mode]), "check", "metrics")
		})
	}
}

// panelModes returns the modes a dashboard panel applies to: a panel
// under the replication slots row applies to WAL sources, one under the
// cluster row to cluster members, any other to NOTIFY and WAL sources;
// a title ending in "(NOTIFY only)" narrows it to NOTIFY.
func panelModes(row, title string) []string {
	switch {
	case strings.HasSuffix(title, "(NOTIFY only)"):
		return []string{modeNotify}
	case strings.Contains(row, "WAL"):
		return []string{modeWAL}
	case strings.Contains(row, "Cluster"):
		return []string{modeCluster}
	default:
		return []string{modeNotify, modeWAL}
	}
}

// docs/grafana-dashboard.json is a dashboard Grafana imports (a data
// source input, unique panel ids, panels on the 24-column grid, a query
// per target) whose every query uses only metrics that the real adapters
// export in every mode the panel applies to (see panelModes).
func checkDashboard(t *testing.T, exported map[string]map[string]dto.MetricType) {
	names := exported[""]
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
	row := ""
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v off the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			row = p.Title
			continue
		}
		for _, tg := range p.Targets {
			for _, tok := range metricToken.FindAllString(tg.Expr, -1) {
				for _, mode := range panelModes(row, p.Title) {
					if !known(exported[mode], tok) {
						t.Errorf("panel %q (row %q) queries %s, which a %s source does not export: back it or mark the panel", p.Title, row, tok, mode)
					}
				}
			}
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
// names none it does not.
func checkOperationsGuide(t *testing.T, names map[string]dto.MetricType) {
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
