package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The goals table of a published run lives in the Markdown page beside its
// results file (docs/performance.md beside docs/performance.json), between
// these markers, so that its figures are always the results file's.
const (
	goalsBegin = "<!-- goals: written by make bench from performance.json; do not edit -->"
	goalsEnd   = "<!-- end of goals -->"
)

// goalsMarkdown renders every row of rep that has a goal as a Markdown
// table: what was measured, by whom, the median as the table prints it
// with the ratio to the section's baseline, the goal and its verdict.
// Consecutive rows of one measurement and goal (the cluster's instance
// counts) share a line.
func goalsMarkdown(rep Report) string {
	type line struct{ meas, goal, who, result, verdict string }
	var lines []line
	for _, r := range rep.Rows {
		if r.Goal == "" {
			continue
		}
		result, verdict := "n/a", "not judged"
		if r.NA == "" {
			result = format(r.Median, r.Unit)
		}
		if r.Ratio != 0 {
			result += fmt.Sprintf(" (%.2fx)", r.Ratio)
		}
		if r.Met != nil && !rep.Quick {
			verdict = "not met"
			if *r.Met {
				verdict = "met"
			}
		}
		if n := len(lines); n > 0 && lines[n-1].meas == r.Measurement && lines[n-1].goal == r.Goal {
			l := &lines[n-1]
			l.who += "; " + r.Contender
			l.result += "; " + result
			if l.verdict != verdict {
				l.verdict = "mixed"
			}
			continue
		}
		lines = append(lines, line{r.Measurement, r.Goal, r.Contender, result, verdict})
	}
	var b strings.Builder
	b.WriteString("| Measurement | Contender | Median (ratio) | Goal: verdict |\n|---|---|---|---|\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s | %s | %s | %s: %s |\n", cell(l.meas), cell(l.who), l.result, cell(l.goal), l.verdict)
	}
	return b.String()
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// goalsPage is the Markdown page whose goals table the results file out
// feeds: beside it, with .md for .json.
func goalsPage(out string) string { return strings.TrimSuffix(out, ".json") + ".md" }

// errNoGoalsMarkers: the page exists but has no place for the table.
var errNoGoalsMarkers = errors.New("no goals markers")

// writeGoals replaces the goals table of the page beside out, if there is
// such a page; a run whose results go elsewhere (bench/results.json) has
// none and writes nothing.
func writeGoals(out string, rep Report) error {
	page := goalsPage(out)
	body, err := os.ReadFile(page)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	updated, err := replaceGoals(body, goalsMarkdown(rep))
	if err != nil {
		return fmt.Errorf("%s: %w (%s ... %s)", page, err, goalsBegin, goalsEnd)
	}
	return os.WriteFile(page, updated, 0o644)
}

// replaceGoals returns page with the text between the goals markers
// replaced by table.
func replaceGoals(page []byte, table string) ([]byte, error) {
	before, rest, ok := bytes.Cut(page, []byte(goalsBegin+"\n"))
	if !ok {
		return nil, errNoGoalsMarkers
	}
	_, after, ok := bytes.Cut(rest, []byte(goalsEnd))
	if !ok {
		return nil, errNoGoalsMarkers
	}
	var b bytes.Buffer
	b.Write(before)
	b.WriteString(goalsBegin + "\n" + table + goalsEnd)
	b.Write(after)
	return b.Bytes(), nil
}
