// Command bench measures phoenixkitdb against its peers on one throwaway
// PostgreSQL server (or the one given by -database-url) and prints one
// table: drain rate, latency, fan-out, trigger write cost, recovery,
// memory, the WAL change source (on a second server with
// wal_level=logical) and the cluster module (over an embedded NATS
// server), each the median of several interleaved repetitions with the
// spread. The same rows are written as JSON to -out, a chart of the
// headline comparisons beside it as SVG, and the goals table into the
// Markdown page beside it if there is one (-chart-from redraws both from a
// results file without measuring). `make bench` runs it;
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/performance.md explains the sections
// and publishes a run: -out ../docs/performance.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

// defaultSections are the sections a run without -sections measures.
const defaultSections = "drain,latency,fanout,writecost,recovery,memory,wal,cluster,shapes,http"

// config holds the sizes of one run; -quick shrinks them.
type config struct {
	quick          bool
	reps           int
	drainReps      int
	drainN         int
	latencyN       int
	fanoutBudget   time.Duration
	killTries      int
	restarts       int
	wcRows         int
	wcClients      int
	wcTxns         int
	cpuprofile     string
	walProfile     string // section 7: profile the first timed decode of each reader into walProfile-{bare,src,src_nopause}.prof
	httpProfile    string // section 10: profile each initial sync (both sides of the HTTP connection) into files with this prefix
	profileBursts  int
	sections       string
	walRows        int    // section 7: rows of the bulk INSERT
	walLatN        int    // section 7: single-row txns per latency repetition
	walLatRate     int    // section 7: their rate per second
	walTxns        int    // section 7: single-row txns per write-cost timing, split among the clients
	clusterSizes   []int  // section 8: instance counts of the latency runs
	clusterLatN    int    // section 8: single-row txns per latency repetition
	clusterRate    int    // section 8: their rate per second
	clusterBurst   int    // section 8: changes of the burst transaction
	clusterBurstN  int    // section 8: instances the burst is delivered to (one of clusterSizes)
	clusterProfile string // section 8: CPU-profile the batched group's first timed held burst into this file
	clusterParts   string // section 8: which parts run (latency, burst), comma-separated
	clusterTrace   string // section 8: runtime/trace of each group's first latency repetition into this prefix
}

// Machine names where the numbers come from.
type Machine struct {
	Date       string `json:"date"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	PostgreSQL string `json:"postgresql"`
	Kernel     string `json:"kernel"`
}

// Report is the JSON written to -out.
type Report struct {
	Machine Machine  `json:"machine"`
	Command string   `json:"command"`
	Quick   bool     `json:"quick"`
	Reps    int      `json:"repetitions"`
	Elapsed string   `json:"elapsed"`
	Rows    []Row    `json:"rows"`
	Errors  []string `json:"errors,omitempty"`
}

var started = time.Now()

// progress reports on stderr; the table goes to stdout.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	var cfg config
	dbURL := flag.String("database-url", "", "use this server (postgres://...) instead of a throwaway one; restarts become n/a")
	out := flag.String("out", "results.json", "write the results as JSON here (relative to bench/ under make)")
	flag.BoolVar(&cfg.quick, "quick", false, "smoke mode: small sizes, 1 repetition (under a minute)")
	flag.IntVar(&cfg.reps, "reps", 0, "repetitions per measurement (default 5, 1 with -quick)")
	flag.IntVar(&cfg.drainReps, "drain-reps", 0, "repetitions of section 1, the noisiest and cheapest (default 9, 1 with -quick)")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "after section 1, profile the Listener alone draining bursts into this file")
	flag.IntVar(&cfg.profileBursts, "profile-bursts", 30, "bursts to profile with -cpuprofile")
	flag.StringVar(&cfg.walProfile, "wal-cpuprofile", "", "in section 7, CPU-profile the first timed decode of each reader into this prefix + -bare.prof, -src.prof, -src_nopause.prof")
	flag.StringVar(&cfg.clusterProfile, "cluster-cpuprofile", "", "in section 8, CPU-profile the batched cluster group's first timed held burst's drain (every instance: leader and followers) into this file, and each group's first latency repetition into this file + .latency-<instances>")
	sizes := flag.String("cluster-sizes", "", "section 8's instance counts, comma-separated (default 1,10,50); the burst runs only if 10 is one")
	flag.StringVar(&cfg.clusterParts, "cluster-parts", "latency,burst", "section 8's parts to run, comma-separated: latency (with the bare JetStream latency beside it), burst")
	flag.StringVar(&cfg.clusterTrace, "cluster-trace", "", "in section 8, write a runtime/trace of each group's first latency repetition into this file + .latency-<instances>")
	flag.StringVar(&cfg.httpProfile, "http-cpuprofile", "", "in section 10, CPU-profile each initial sync (shapehttp server and client, or the COPY baseline's client, one process) into this prefix + .<first|live|decoded|copy>.<repetition>")
	flag.StringVar(&cfg.sections, "sections", defaultSections, "sections to run, comma-separated")
	chartFrom := flag.String("chart-from", "", "measure nothing: draw the chart of this results file (the -out of a run) beside it, as .svg, and its goals table into the .md page beside it if there is one")
	idleBase := flag.String("http-idle-clients", "", "internal: run the idle clients of section 10 against this shape URL until stdin ends")
	idleN := flag.Int("http-idle-n", 0, "internal: how many idle clients")
	flag.Parse()
	if *idleBase != "" {
		if err := runIdleClients(*idleBase, *idleN); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	cfg.setSizes()
	if *sizes != "" {
		ns, err := parseSizes(*sizes)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cluster-sizes:", err)
			os.Exit(2)
		}
		cfg.clusterSizes = ns
	}
	if *chartFrom != "" {
		if err := chartOf(*chartFrom); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *dbURL, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (c *config) setSizes() {
	reps := 5
	c.drainN, c.latencyN, c.fanoutBudget = 100_000, 2000, 200*time.Millisecond
	c.killTries, c.restarts = 20, 5
	c.wcRows, c.wcClients, c.wcTxns = 200_000, 4, 200
	c.walRows, c.walLatN, c.walLatRate, c.walTxns = 200_000, 1000, 200, 4000
	c.clusterSizes, c.clusterLatN, c.clusterRate, c.clusterBurst, c.clusterBurstN = []int{1, 10, 50}, 2000, 1000, 100_000, 10
	if c.quick {
		c.clusterLatN, c.clusterBurst = 300, 10_000
		c.walRows, c.walLatN, c.walTxns = 20_000, 200, 400
		reps = 1
		c.drainN, c.latencyN, c.fanoutBudget = 10_000, 200, 20*time.Millisecond
		c.killTries, c.restarts = 3, 1
		c.wcRows, c.wcTxns = 20_000, 20
	}
	if c.reps <= 0 {
		c.reps = reps
	}
	if c.drainReps <= 0 {
		c.drainReps = max(c.reps, 9)
		if c.quick {
			c.drainReps = c.reps
		}
	}
}

func run(ctx context.Context, cfg config, dbURL, out string) error {
	progress("starting PostgreSQL")
	e, err := openEnv(ctx, dbURL)
	if err != nil {
		return err
	}
	defer e.close()
	rep := Report{Machine: machine(e.version), Command: "make bench ARGS='" + strings.Join(os.Args[1:], " ") + "'",
		Quick: cfg.quick, Reps: cfg.reps}
	want := func(s string) bool { return strings.Contains(","+cfg.sections+",", ","+s+",") }
	add := func(section string, rows []Row, err error) {
		rep.Rows = append(rep.Rows, rows...)
		if err != nil {
			progress("%s: %v", section, err)
			rep.Errors = append(rep.Errors, section+": "+err.Error())
		}
	}
	if want("drain") {
		progress("1 drain: %d NOTIFYs per burst, %d repetitions", cfg.drainN, cfg.drainReps)
		rows, err := runDrain(ctx, e, cfg)
		add("drain", rows, err)
	}
	if want("latency") {
		progress("2 latency: %d round trips, %d repetitions", cfg.latencyN, cfg.reps)
		rows, err := runLatency(ctx, e, cfg)
		add("latency", rows, err)
	}
	if want("fanout") {
		progress("3 fan-out: %v mailboxes", fanoutSizes)
		add("fanout", runFanout(cfg), nil)
	}
	if want("writecost") {
		progress("4 write cost: %d rows bulk, %d clients x %d txns", cfg.wcRows, cfg.wcClients, cfg.wcTxns)
		rows, err := runWriteCost(ctx, e, cfg)
		add("writecost", rows, err)
	}
	if want("recovery") {
		progress("5 recovery: %d terminations, %d restarts", cfg.killTries, cfg.restarts)
		rows, err := runRecovery(ctx, e, cfg)
		add("recovery", rows, err)
	}
	if want("memory") {
		progress("6 memory")
		rows, err := runMemory(ctx, e, cfg)
		add("memory", rows, err)
	}
	if want("wal") {
		progress("7 wal: a second server with wal_level=logical")
		rows, err := runWAL(ctx, dbURL, cfg)
		add("wal", rows, err)
	}
	if want("cluster") {
		progress("8 cluster: embedded NATS, %v instances", cfg.clusterSizes)
		rows, err := runCluster(ctx, e, cfg)
		add("cluster", rows, err)
	}
	if want("shapes") {
		progress("9 shapes: routing changes through where.Index (go test -bench in the root module)")
		rows, err := runShapes(ctx, e, cfg)
		add("shapes", rows, err)
		progress("9 shapes: snapshot of a 100,000-row shape against a plain SELECT, memory per shape and key")
		rows, err = runShapeSnapshot(ctx, e, cfg)
		add("shapes", rows, err)
	}
	if want("http") {
		progress("10 http: initial sync of a %d-row shape over shapehttp against COPY TO STDOUT", snapRows)
		rows, err := runHTTPSync(ctx, e, cfg)
		add("http", rows, err)
		progress("10 http: %d long-poll clients on one shape at %d changes/s", liveClients, liveRate)
		rows, err = runHTTPLive(ctx, e, cfg)
		add("http", rows, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rep.Elapsed = time.Since(started).Round(time.Second).String()
	m := rep.Machine
	fmt.Printf("phoenixkitdb bench, %s: %s, %d CPUs (GOMAXPROCS %d), %s, PostgreSQL %s\n",
		m.Date, m.CPU, m.NumCPU, m.GOMAXPROCS, m.Go, m.PostgreSQL)
	mode := "full"
	if cfg.quick {
		mode = "quick (smoke test: sizes too small to quote)"
	}
	fmt.Printf("mode %s, median of %d repetitions (%d for drain), spread = min..max, ratio to the section's baseline; took %s\n\n",
		mode, cfg.reps, cfg.drainReps, rep.Elapsed)
	if cfg.quick {
		// A verdict on figures too small to quote would only mislead.
		for i := range rep.Rows {
			rep.Rows[i].Met = nil
		}
	}
	fmt.Print(table(rep.Rows, !cfg.quick))
	for _, e := range rep.Errors {
		fmt.Println("error:", e)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	progress("wrote %s", out)
	if err := os.WriteFile(chartPath(out), renderChart(rep), 0o644); err != nil {
		return err
	}
	progress("wrote %s", chartPath(out))
	if err := writeGoals(out, rep); err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d section(s) failed", len(rep.Errors))
	}
	return nil
}

func machine(pgVersion string) Machine {
	m := Machine{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		PostgreSQL: pgVersion,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
