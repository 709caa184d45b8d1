package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Row is one line of the table: one measurement of one contender.
type Row struct {
	Section     string    `json:"section"`
	Measurement string    `json:"measurement"`
	Contender   string    `json:"contender"`
	Unit        string    `json:"unit,omitempty"`
	Median      float64   `json:"median"`
	Min         float64   `json:"min"`
	Max         float64   `json:"max"`
	Samples     []float64 `json:"samples,omitempty"`
	NA          string    `json:"na,omitempty"`    // why the contender cannot measure this
	Ratio       float64   `json:"ratio,omitempty"` // to the section's baseline (0: none)
	Goal        string    `json:"goal,omitempty"`
	Met         *bool     `json:"met,omitempty"`
}

// sample builds a row from repeated measurements: median, min and max.
func sample(section, measurement, contender, unit string, xs []float64) Row {
	r := Row{Section: section, Measurement: measurement, Contender: contender, Unit: unit, Samples: xs}
	if len(xs) == 0 {
		r.NA = "no sample"
		return r
	}
	r.Median, r.Min, r.Max = median(xs), slices.Min(xs), slices.Max(xs)
	return r
}

func na(section, measurement, contender, why string) Row {
	return Row{Section: section, Measurement: measurement, Contender: contender, NA: why}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the p-th percentile (0..100) of xs, nearest rank.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (r *Row) goal(text string, met bool) {
	r.Goal, r.Met = text, &met
}

// format renders a value in the row's unit.
func format(v float64, unit string) string {
	switch unit {
	case "ev/s", "rows/s", "txn/s":
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2fM %s", v/1e6, unit)
		case v >= 1e3:
			return fmt.Sprintf("%.1fk %s", v/1e3, unit)
		}
		return fmt.Sprintf("%.0f %s", v, unit)
	case "µs":
		if v >= 10000 {
			return fmt.Sprintf("%.1f ms", v/1000)
		}
		return fmt.Sprintf("%.0f µs", v)
	case "ms":
		if v >= 10000 {
			return fmt.Sprintf("%.1f s", v/1000)
		}
		return fmt.Sprintf("%.0f ms", v)
	case "ns":
		if v >= 1e6 {
			return fmt.Sprintf("%.2f ms", v/1e6)
		}
		if v >= 1e4 {
			return fmt.Sprintf("%.1f µs", v/1e3)
		}
		return fmt.Sprintf("%.0f ns", v)
	case "B":
		if v >= 1<<20 {
			return fmt.Sprintf("%.1f MiB", v/(1<<20))
		}
		if v >= 10<<10 {
			return fmt.Sprintf("%.1f KiB", v/(1<<10))
		}
		return fmt.Sprintf("%.0f B", v)
	case "allocs":
		return fmt.Sprintf("%.2f", v)
	case "x":
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// table renders rows as one aligned table. Consecutive rows of one
// measurement print its name once. When judged is false (quick mode, whose
// sizes are too small to quote) goals are shown but marked "not judged"
// rather than MET or NOT MET.
func table(rows []Row, judged bool) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SECTION\tMEASUREMENT\tCONTENDER\tMEDIAN\tSPREAD (min..max)\tRATIO\tGOAL")
	var lastSec, lastMeas string
	for _, r := range rows {
		sec, meas := r.Section, r.Measurement
		if sec == lastSec && meas == lastMeas {
			meas = ""
		}
		if sec == lastSec {
			sec = ""
		}
		lastSec, lastMeas = r.Section, r.Measurement
		med, spread, ratio := "n/a", r.NA, ""
		if r.NA == "" {
			med = format(r.Median, r.Unit)
			spread = "-"
			if len(r.Samples) > 1 {
				spread = format(r.Min, r.Unit) + " .. " + format(r.Max, r.Unit)
			}
		}
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		goal := r.Goal
		switch {
		case goal != "" && !judged:
			goal += ": not judged (quick mode)"
		case r.Met != nil:
			if *r.Met {
				goal += ": MET"
			} else {
				goal += ": NOT MET"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sec, meas, r.Contender, med, spread, ratio, goal)
	}
	w.Flush()
	return b.String()
}
