package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// A chart panel is one headline comparison: a title and one bar per
// contender (or per size), drawn to the panel's own scale.
type panel struct {
	title string
	bars  []bar
}

type bar struct {
	label string
	value float64
	text  string // the value as printed, with its ratio when there is one
	ours  bool   // the library's contender (drawn in colour)
}

// chartPanels picks the headline rows out of a report: drain against the
// bare loop and the peers, writers' throughput with each change source,
// fan-out by mailbox count, and cluster latency by instance count. A
// panel whose rows are missing (a run of some sections) is left out.
func chartPanels(rows []Row) []panel {
	pick := func(section string, match func(meas string) bool, label func(r Row) string, ratioOf string) []bar {
		var bars []bar
		for _, r := range rows {
			if r.Section != section || r.NA != "" || !match(r.Measurement) {
				continue
			}
			text := format(r.Median, r.Unit)
			if r.Ratio != 0 && ratioOf != "" {
				text += fmt.Sprintf(" (%.2fx %s)", r.Ratio, ratioOf)
			}
			c := r.Contender
			bars = append(bars, bar{label: label(r), value: r.Median, text: text,
				ours: strings.Contains(c, "Listener") || strings.HasPrefix(c, "Source") || strings.HasPrefix(c, "cluster") ||
					strings.HasPrefix(c, "library")})
		}
		return bars
	}
	contender := func(r Row) string { return r.Contender }
	var ps []panel
	add := func(title string, bars []bar) {
		if len(bars) > 0 {
			ps = append(ps, panel{title: title, bars: bars})
		}
	}
	add("Drain: NOTIFYs per second, commit to last (higher is better)",
		pick("1 drain", func(m string) bool { return strings.HasPrefix(m, "drain ") && strings.HasSuffix(m, ", commit -> last") },
			contender, "of bare pgx"))
	fourClients := regexp.MustCompile(`^1-row txns, 4 clients x \d+$`)
	writers := pick(walSection, fourClients.MatchString, contender, "of no source")
	writers = slices.DeleteFunc(writers, func(b bar) bool { return b.label == nameSourceToBare })
	add("Writers' throughput with each source running, 1-row transactions, 4 clients (higher is better)", writers)
	perMailbox := regexp.MustCompile(`^time per mailbox, (\d+) mailboxes, consumers keep up$`)
	add("Fan-out: time per event per mailbox, consumers keeping up (lower is better)",
		pick("3 fan-out", perMailbox.MatchString, func(r Row) string {
			return perMailbox.FindStringSubmatch(r.Measurement)[1] + " mailboxes"
		}, ""))
	add("Cluster: commit to every mailbox, p99 (lower is better)",
		pick(clusterSection, func(m string) bool { return strings.HasPrefix(m, "commit -> every mailbox p99") }, contender,
			"of the single instance"))
	return ps
}

// Chart geometry, in SVG user units (pixels at 100%).
const (
	chartWidth  = 760
	chartLabelW = 250 // label column
	chartBarMax = 300 // the longest bar of a panel
	chartBarH   = 16
	chartGap    = 6
	chartTitleH = 26
	chartPanelG = 14 // space between panels
)

// renderChart draws the report's headline comparisons as a standalone SVG:
// hand-written, deterministic (the same report gives the same bytes), no
// scripts or external resources.
func renderChart(rep Report) []byte {
	ps := chartPanels(rep.Rows)
	var b strings.Builder
	y := 30
	var body strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&body, "<text x=\"10\" y=\"%d\" class=\"t\">%s</text>\n", y+16, esc(p.title))
		y += chartTitleH
		top := 0.0
		for _, br := range p.bars {
			top = max(top, br.value)
		}
		for _, br := range p.bars {
			w := 0.0
			if top > 0 {
				w = br.value / top * chartBarMax
			}
			class := "p"
			if br.ours {
				class = "o"
			}
			fmt.Fprintf(&body, "<text x=\"%d\" y=\"%d\" class=\"l\">%s</text>\n", chartLabelW, y+12, esc(br.label))
			fmt.Fprintf(&body, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\"/>\n",
				chartLabelW+8, y, max(w, 1), chartBarH, class)
			fmt.Fprintf(&body, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%s</text>\n", float64(chartLabelW+8)+max(w, 1)+6, y+12,
				esc(br.text))
			y += chartBarH + chartGap
		}
		y += chartPanelG
	}
	m := rep.Machine
	foot := fmt.Sprintf("make bench, %s: %s, %d CPUs, %s, PostgreSQL %s; median of %d repetitions",
		m.Date, m.CPU, m.NumCPU, m.Go, firstWord(m.PostgreSQL), rep.Reps)
	if rep.Quick {
		foot += " (quick mode: not for quoting)"
	}
	fmt.Fprintf(&body, "<text x=\"10\" y=\"%d\" class=\"f\">%s</text>\n", y+4, esc(foot))
	height := y + 16

	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "+
		"font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
		chartWidth, height, chartWidth, height)
	b.WriteString("<style>.t{font-weight:600;font-size:13px;fill:#24292f}.l{text-anchor:end;fill:#24292f}" +
		".v{fill:#57606a}.f{fill:#57606a;font-size:11px}.o{fill:#2f6fdb}.p{fill:#a8b1bb}</style>\n")
	fmt.Fprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", chartWidth, height)
	b.WriteString("<text x=\"10\" y=\"20\" class=\"t\">phoenixkitdb: headline comparisons (blue: this library)</text>\n")
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")

func esc(s string) string { return xmlEscaper.Replace(s) }

// chartPath is where the chart of the results file out goes: beside it,
// with .svg for .json.
func chartPath(out string) string { return strings.TrimSuffix(out, ".json") + ".svg" }

// chartOf draws the chart of an existing results file beside it, and
// writes its goals table into the Markdown page beside it, if any.
func chartOf(results string) error {
	b, err := os.ReadFile(results)
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", results, err)
	}
	if err := os.WriteFile(chartPath(results), renderChart(rep), 0o644); err != nil {
		return err
	}
	return writeGoals(results, rep)
}
