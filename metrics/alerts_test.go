package metrics_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

var (
	// alertRule finds the alerts of a rules file.
	alertRule = regexp.MustCompile(`(?m)^\s*- alert: (\S+)\s*$`)
	// alertRow finds the alerts of operations.md's table.
	alertRow = regexp.MustCompile("(?m)^\\| `(PhoenixKitDB[A-Za-z]+)` \\|")
)

// alertNames returns the alerts of docs/alerts.yml, in order.
func alertNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range alertRule.FindAllStringSubmatch(string(readDoc(t, "alerts.yml")), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("docs/alerts.yml has %d alerts", len(names))
	}
	return names
}

// every metric the rules use is one the real adapters export.
func checkAlertMetrics(t *testing.T, names map[string]dto.MetricType) {
	for _, tok := range metricToken.FindAllString(string(readDoc(t, "alerts.yml")), -1) {
		if !known(names, tok) {
			t.Errorf("docs/alerts.yml uses %s, which the collector does not export", tok)
		}
	}
}

// docs/operations.md lists exactly the alerts of docs/alerts.yml, in the
// same order, and links the file.
func TestOperationsGuideListsEveryAlert(t *testing.T) {
	want := alertNames(t)
	doc := string(readDoc(t, "operations.md"))
	var got []string
	for _, m := range alertRow.FindAllStringSubmatch(doc, -1) {
		got = append(got, m[1])
	}
	if !slices.Equal(got, want) {
		t.Errorf("operations.md's alert table lists\n%v\ndocs/alerts.yml has\n%v", got, want)
	}
	if !strings.Contains(doc, "(alerts.yml)") {
		t.Error("operations.md does not link alerts.yml")
	}
}

// testCase is one test of the promtool unit-test file: for each alert it
// evaluates, whether some evaluation expects it to fire.
type testCase struct {
	name  string
	fires map[string]bool
}

// parseRuleTests reads the alerts each test of a promtool unit-test file
// evaluates, and whether an evaluation expects alerts. It reads the
// layout metrics/testdata/alerts_test.yml uses (no YAML library: the
// metrics module keeps its dependencies to what it exports).
func parseRuleTests(text string) []testCase {
	var cases []testCase
	var alert string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "  - name: "):
			cases = append(cases, testCase{name: strings.TrimPrefix(line, "  - name: "), fires: map[string]bool{}})
		case strings.HasPrefix(trimmed, "- alertname: ") && len(cases) > 0:
			alert = strings.TrimPrefix(trimmed, "- alertname: ")
			c := cases[len(cases)-1]
			c.fires[alert] = c.fires[alert] || false
		case strings.HasPrefix(trimmed, "- exp_labels:") && len(cases) > 0 && alert != "":
			cases[len(cases)-1].fires[alert] = true
		}
	}
	return cases
}

// Each alert of docs/alerts.yml has a unit test in which it must fire
// and a near miss in which it must not, and the tests name no other
// alert.
func TestEveryAlertHasFiringAndNearMissTests(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := parseRuleTests(string(b))
	fire, quiet := map[string]int{}, map[string]int{}
	for _, c := range cases {
		for alert, fires := range c.fires {
			if fires {
				fire[alert]++
			} else {
				quiet[alert]++
			}
		}
	}
	names := alertNames(t)
	for _, a := range names {
		if fire[a] == 0 || quiet[a] == 0 {
			t.Errorf("%s: %d tests that must fire, %d near misses; want at least one of each", a, fire[a], quiet[a])
		}
	}
	for a := range fire {
		if !slices.Contains(names, a) {
			t.Errorf("the tests name %s, which docs/alerts.yml does not define", a)
		}
	}
	for a := range quiet {
		if !slices.Contains(names, a) {
			t.Errorf("the tests name %s, which docs/alerts.yml does not define", a)
		}
	}
}
