package main

import (
	"strings"
	"testing"
)

// TestTableQuickModeNotJudged: a quick run shows its goals as "not judged"
// instead of a verdict on figures too small to quote; a full run judges.
func TestTableQuickModeNotJudged(t *testing.T) {
	met, missed := Row{Section: "s", Measurement: "m1", Contender: "c", Median: 1},
		Row{Section: "s", Measurement: "m2", Contender: "c", Median: 1}
	met.goal(">= 1", true)
	missed.goal(">= 2", false)
	rows := []Row{met, missed}

	full := table(rows, true)
	if !strings.Contains(full, ">= 1: MET") || !strings.Contains(full, ">= 2: NOT MET") {
		t.Fatalf("full run table lacks its verdicts:\n%s", full)
	}
	quick := table(rows, false)
	if strings.Contains(quick, "MET") {
		t.Fatalf("quick run table judges figures it cannot:\n%s", quick)
	}
	if strings.Count(quick, "not judged") != 2 {
		t.Fatalf("quick run table should mark both goals not judged:\n%s", quick)
	}
}
