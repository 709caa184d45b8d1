package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The published results and their chart (docs/performance.md shows both).
const (
	publishedResults = "../docs/performance.json"
	publishedChart   = "../docs/performance.svg"
)

// TestChartMatchesResults: the committed chart is the one the committed
// results file draws, so the picture and the figures cannot drift apart.
func TestChartMatchesResults(t *testing.T) {
	rep := readReport(t, publishedResults)
	want, err := os.ReadFile(publishedChart)
	if err != nil {
		t.Fatal(err)
	}
	if got := renderChart(rep); !bytes.Equal(got, want) {
		t.Fatalf("%s is not the chart of %s: redraw it with `cd bench && go run . -chart-from %s`",
			publishedChart, publishedResults, publishedResults)
	}
}

// TestChartPanels: the committed results give the four headline panels,
// each bar labelled with its figure as the table prints it.
func TestChartPanels(t *testing.T) {
	ps := chartPanels(readReport(t, publishedResults).Rows)
	titles := []string{"Drain", "Writers'", "Fan-out", "Cluster"}
	if len(ps) != len(titles) {
		t.Fatalf("got %d panels, want %d: %+v", len(ps), len(titles), ps)
	}
	for i, p := range ps {
		if !strings.HasPrefix(p.title, titles[i]) || len(p.bars) < 3 {
			t.Errorf("panel %d: %q with %d bars", i, p.title, len(p.bars))
		}
	}
	if b := ps[0].bars[1]; b.label != nameListener || !b.ours || !strings.HasPrefix(b.text, format(b.value, "ev/s")) {
		t.Errorf("drain's second bar: %+v", b)
	}
	svg := string(renderChart(Report{Rows: []Row{{Section: "1 drain", Measurement: "drain 9 NOTIFYs, commit -> last",
		Contender: "a<b", Unit: "ev/s", Median: 5}}}))
	if !strings.Contains(svg, "a&lt;b") || strings.Contains(svg, "a<b") {
		t.Errorf("labels are not escaped:\n%s", svg)
	}
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestGoalsTableMatchesResults: the goals table of docs/performance.md is
// the one the committed results file renders.
func TestGoalsTableMatchesResults(t *testing.T) {
	page, err := os.ReadFile("../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceGoals(page, goalsMarkdown(readReport(t, publishedResults)))
	if err != nil {
		t.Fatalf("docs/performance.md: %v", err)
	}
	if !bytes.Equal(page, want) {
		t.Fatalf("docs/performance.md's goals table is not the one %s renders: redraw it with "+
			"`cd bench && go run . -chart-from %s`", publishedResults, publishedResults)
	}
}
