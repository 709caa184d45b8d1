package metrics_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// seriesLog records chosen metric families over successive scrapes of a
// registry, one synthetic minute apart, to feed promtool test rules.
type seriesLog struct {
	reg    *prometheus.Registry
	names  []string
	order  []string            // series in the order first seen
	values map[string][]string // series -> value per scrape, "_" when absent
	n      int                 // scrapes so far
}

func newSeriesLog(reg *prometheus.Registry, names ...string) *seriesLog {
	return &seriesLog{reg: reg, names: names, values: map[string][]string{}}
}

// scrape gathers the registry once and returns this scrape's values by
// series.
func (l *seriesLog) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for name, mf := range families(t, l.reg) {
		if !slices.Contains(l.names, name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				if lp.GetValue() != "" {
					labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
				}
			}
			slices.Sort(labels)
			key := name + "{" + strings.Join(labels, ",") + "}"
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[key] = v
		}
	}
	for key, v := range got {
		if _, ok := l.values[key]; !ok {
			l.order = append(l.order, key)
			l.values[key] = slices.Repeat([]string{"_"}, l.n)
		}
		l.values[key] = append(l.values[key], strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, key := range l.order {
		if _, ok := got[key]; !ok {
			l.values[key] = append(l.values[key], "_")
		}
	}
	l.n++
	return got
}

// alertWant is an alert promtool must find firing: its labels and
// annotations.
type alertWant struct {
	labels, annotations map[string]string
}

// ruleTest writes a promtool unit-test file over docs/alerts.yml whose
// input is the recorded scrapes, one minute apart, each series' last
// value then held for hold more minutes; it expects exactly want (by
// alert name; an empty list means the alert must not fire) at evalMinute,
// and runs promtool test rules on it.
func (l *seriesLog) ruleTest(t *testing.T, hold, evalMinute int, want map[string][]alertWant) {
	t.Helper()
	rules, err := filepath.Abs(filepath.Join("..", "docs", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files:\n  - %q\nevaluation_interval: 15s\ntests:\n  - name: scraped\n    interval: 1m\n    input_series:\n", rules)
	for _, key := range l.order {
		vals := l.values[key]
		last := vals[len(vals)-1]
		vals = append(slices.Clone(vals), slices.Repeat([]string{last}, hold)...)
		fmt.Fprintf(&b, "      - series: %q\n        values: %q\n", key, strings.Join(vals, " "))
	}
	b.WriteString("    alert_rule_test:\n")
	alerts := make([]string, 0, len(want))
	for a := range want {
		alerts = append(alerts, a)
	}
	slices.Sort(alerts)
	for _, a := range alerts {
		fmt.Fprintf(&b, "      - alertname: %s\n        eval_time: %dm\n", a, evalMinute)
		if len(want[a]) == 0 {
			continue
		}
		b.WriteString("        exp_alerts:\n")
		for _, w := range want[a] {
			b.WriteString("          - exp_labels:\n")
			writeMap(&b, w.labels)
			if len(w.annotations) > 0 {
				b.WriteString("            exp_annotations:\n")
				writeMap(&b, w.annotations)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "scraped_test.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("promtool test rules %s:\n%s", path, b.String())
	promtool(t, nil, "test", "rules", path)
}

func writeMap(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "              %s: %q\n", k, m[k])
	}
}
