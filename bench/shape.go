package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// shapesPackages hold the routing benchmarks of section "shapes": the
// where package (internal to the shape package, so this module cannot
// import it) and the shape package's router (its internals, with no
// server behind them). The section runs their BenchmarkShapes* functions
// with go test instead.
var shapesPackages = []string{"./shape/internal/where", "./shape"}

// benchLine is one result line of go test -bench: ns/op and the custom
// metrics (ns/shape, B/pred, B/shape).
type benchLine struct {
	name    string
	metrics map[string]float64
}

// runShapes measures section "shapes" in process (in a go test child of
// the root module, with the bench's server as the test server): routing a
// change through where.Index, each figure next to a hand-written baseline
// of the same run, and the heap a "tenant_id = $1" shape holds.
func runShapes(ctx context.Context, e *env, cfg config) ([]Row, error) {
	benchtime, count := "1s", cfg.reps
	if cfg.quick {
		benchtime = "100ms"
	}
	// No test timeout: with many repetitions the 100,000-shape
	// benchmarks take longer than go test's default 10 minutes.
	args := append([]string{"test", "-run", "^$", "-timeout", "0", "-bench", "^BenchmarkShapes", "-benchmem",
		"-benchtime", benchtime, "-count", strconv.Itoa(count)}, shapesPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off", "PHOENIXKITDB_TEST_DATABASE_URL="+e.url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("shapes: go test: %v\n%s%s", err, out, stderr.Bytes())
	}
	lines := parseBench(out)
	samples := func(name, metric string) []float64 {
		var xs []float64
		for _, l := range lines {
			if l.name == name {
				if v, ok := l.metrics[metric]; ok {
					xs = append(xs, v)
				}
			}
		}
		return xs
	}
	const sec = "shapes"
	var rows []Row
	pair := func(meas, name, baseName, metric, unit string, goalNs float64, goalText string) {
		base := sample(sec, meas, "hand-written baseline", unit, samples(baseName, metric))
		r := sample(sec, meas, "where.Index", unit, samples(name, metric))
		if base.NA == "" && r.NA == "" && base.Median > 0 {
			r.Ratio = r.Median / base.Median
			base.Ratio = 1
		}
		if r.NA == "" && goalText != "" {
			r.goal(goalText, r.Median <= goalNs)
		}
		rows = append(rows, r, base)
	}
	for _, n := range []int{1000, 10_000, 100_000} {
		pair(fmt.Sprintf("change matching none of %d shapes tenant_id = $1", n),
			fmt.Sprintf("BenchmarkShapesNoMatch/shapes=%d", n), "BenchmarkShapesBaselineLookup", "ns/op", "ns", 500, "≤ 0.5 µs")
	}
	// Ranges and ORs: the figure at 100,000 shapes against the one at
	// 1,000 of the same run says whether the cost grows with the shapes
	// a change does not touch (a walk down the interval tree grows as
	// log n, 17 levels against 10; a linear cost would be 100x).
	for _, c := range []struct{ bench, what string }{
		{"BenchmarkShapesBetweenNoMatch", "change outside all of %d ranges total BETWEEN $1 AND $2"},
		{"BenchmarkShapesOrNoMatch", "change matching none of %d shapes tenant_id = $1 OR status = $2"},
	} {
		var first float64
		for _, n := range []int{1000, 10_000, 100_000} {
			pair(fmt.Sprintf(c.what, n), fmt.Sprintf("%s/shapes=%d", c.bench, n), "BenchmarkShapesBaselineLookup", "ns/op", "ns", 0, "")
			r := &rows[len(rows)-2]
			switch {
			case r.NA != "":
			case n == 1000:
				first = r.Median
			case n == 100_000 && first > 0:
				r.goal("≤ 3x the figure at 1,000 shapes", r.Median <= 3*first)
			}
		}
	}
	// Adding and removing a shape: the figure at 100,000 against the one
	// at 1,000 (a sorted list of bounds made the index's part linear,
	// 392x; a slice of the table's shapes the router's, 13x).
	for _, c := range []struct {
		bench, what, who string
		sizes            []int
	}{
		{"BenchmarkShapesBoundAddRemove", "adding and removing one shape total > $1 among %d (index only)", "where.Index",
			[]int{1000, 10_000, 100_000}},
		{"BenchmarkShapesEnd", "ending one shape tenant_id = $1 among %d and creating it again", "shape router",
			[]int{1000, 100_000}},
	} {
		var first float64
		for _, n := range c.sizes {
			r := sample(sec, fmt.Sprintf(c.what, n), c.who, "ns", samples(fmt.Sprintf("%s/shapes=%d", c.bench, n), "ns/op"))
			switch {
			case r.NA != "":
			case n == 1000:
				first = r.Median
			case n == 100_000 && first > 0:
				r.Ratio = r.Median / first
				r.goal("≤ 3x the figure at 1,000 shapes", r.Median <= 3*first)
			}
			rows = append(rows, r)
		}
	}
	for _, n := range []int{1000, 100_000} {
		pair(fmt.Sprintf("change matching one of %d shapes (routing and predicate)", n),
			fmt.Sprintf("BenchmarkShapesMatchOne/shapes=%d", n), "BenchmarkShapesBaselineLookup", "ns/op", "ns", 2000, "≤ 2 µs with delivery")
	}
	pair("1,000 shapes status = 'open' AND total > $1 matched by one change, per shape",
		"BenchmarkShapesOverlap", "BenchmarkShapesBaselineOverlap", "ns/shape", "ns", 1000, "≤ 1 µs per shape")
	for _, op := range []string{"Update", "UpdateTOAST", "Delete"} {
		what := op
		if op == "UpdateTOAST" {
			what = "Update (a TOASTed column unchanged)"
		}
		base := sample(sec, "one shape's "+what+" among 100,000 shapes on its table", "1 shape on the table (baseline)", "ns",
			samples("BenchmarkShapes"+op+"/shapes=1", "ns/op"))
		r := sample(sec, base.Measurement, "shape router", "ns", samples("BenchmarkShapes"+op+"/shapes=100000", "ns/op"))
		if base.NA == "" && r.NA == "" && base.Median > 0 {
			r.Ratio, base.Ratio = r.Median/base.Median, 1
			r.goal("≤ 1.25x the 1-shape baseline (cost does not grow with untouched shapes)", r.Median <= 1.25*base.Median)
		}
		rows = append(rows, r, base)
	}
	idle := sample(sec, "heap per idle shape id = $1 with one subscriber, router only (100,000 shapes)", "shape router", "B",
		samples("BenchmarkShapesIdleMemory", "B/shape"))
	if idle.NA == "" {
		idle.goal("≤ 2 KiB per idle shape", idle.Median <= 2048)
	}
	rows = append(rows, idle)
	perKey := sample(sec, "heap per key of a shape's key set, router only (100,000 bigint keys)", "shape router", "B",
		samples("BenchmarkShapesKeyMemory", "B/key"))
	if perKey.NA == "" {
		perKey.goal("≤ 64 B per key", perKey.Median <= 64)
	}
	rows = append(rows, perKey)
	shared := sample(sec, "heap per key of a second shape holding the same 100,000 keys, router only", "shape router", "B",
		samples("BenchmarkShapesKeyMemory", "B/sharedkey"))
	if shared.NA == "" {
		shared.goal("≤ 64 B per key", shared.Median <= 64)
	}
	rows = append(rows, shared)
	for _, m := range []struct{ metric, meas string }{
		{"B/pred", "heap per parsed and bound Pred tenant_id = $1"},
		{"B/shape", "heap per Pred filed in the index"},
	} {
		r := sample(sec, m.meas, "where", "B", samples("BenchmarkShapesMemory", m.metric))
		if m.metric == "B/shape" && r.NA == "" {
			r.goal("part of ≤ 2 KiB per idle shape", r.Median <= 2048)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// parseBench reads go test -bench output: "BenchmarkX-2  N  12.5 ns/op
// 3.1 ns/shape  0 B/op  0 allocs/op" (the -GOMAXPROCS suffix dropped).
func parseBench(out []byte) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		l := benchLine{name: name, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				l.metrics[f[i+1]] = v
			}
		}
		lines = append(lines, l)
	}
	return lines
}
