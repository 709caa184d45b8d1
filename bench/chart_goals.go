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
// table: what was measured, the median as the table prints it, the ratio to
// the section's baseline, the goal and its verdict.
func goalsMarkdown(rep Report) string {
	var b strings.Builder
	b.WriteString("| Section | Measurement | Contender | Median | Ratio | Goal | Verdict |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Rows {
		if r.Goal == "" {
			continue
		}
		med, ratio, verdict := "n/a", "", "not judged"
		if r.NA == "" {
			med = format(r.Median, r.Unit)
		}
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		if r.Met != nil && !rep.Quick {
			verdict = "not met"
			if *r.Met {
				verdict = "met"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Section), cell(r.Measurement), cell(r.Contender),
			med, ratio, cell(r.Goal), verdict)
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
