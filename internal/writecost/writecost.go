// Package writecost measures what notify triggers cost on writes: the same
// bulk INSERT (and optionally single-row transactions from concurrent
// clients) into identical tables that differ only in their trigger, with the
// contenders alternated and each figure the median of several runs.
//
// It creates a schema of its own in the target database and drops it at the
// end. Nothing here asserts timings; callers print or compare the Results.
package writecost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configures Measure. Zero values mean the documented defaults.
type Options struct {
	// Rows is the number of rows of the bulk INSERT. Default 200000.
	Rows int
	// Repeats is how many times each contender is timed. Default 5.
	Repeats int
	// WideBytes, if > 0, adds a text column of about this many bytes per row.
	WideBytes int
	// NoUUID leaves the uuid column out of the tables, so row ids come from
	// id: the exception form then fails one probe per row, and the direct
	// read reads id. Default false: (id bigint, uuid uuid, name text).
	NoUUID bool
	// Clients, if > 0, also times Txns single-row INSERT transactions from
	// each of this many concurrent connections.
	Clients int
	// Txns is the number of single-row transactions per client. Default 500.
	Txns int
	// Contenders to measure; default AllContenders. NoTrigger is always added.
	Contenders []Contender
}

func (o Options) withDefaults() Options {
	if o.Rows <= 0 {
		o.Rows = 200000
	}
	if o.Repeats <= 0 {
		o.Repeats = 5
	}
	if o.Txns <= 0 {
		o.Txns = 500
	}
	if len(o.Contenders) == 0 {
		o.Contenders = AllContenders
	}
	if !slices.Contains(o.Contenders, NoTrigger) {
		o.Contenders = append([]Contender{NoTrigger}, o.Contenders...)
	}
	return o
}

// Result holds one contender's figures.
type Result struct {
	Contender   Contender
	Bulk        time.Duration   // median time of the bulk INSERT
	BulkMin     time.Duration   // fastest bulk INSERT (least disturbed by other load)
	BulkSamples []time.Duration // every run, in order
	BulkRatio   float64         // Bulk divided by NoTrigger's Bulk
	BulkCPU     time.Duration   // median server CPU time of the bulk INSERT (0 if the server is not local)
	Single      time.Duration   // median wall time of the concurrent single-row phase (0 if skipped)
	SingleRatio float64         // Single divided by NoTrigger's Single
}

// Results is what Measure returns.
type Results struct {
	Options  Options // with defaults filled in
	Server   string  // server_version
	Measured []Result
}

// Get returns the result of contender c.
func (r Results) Get(c Contender) (Result, bool) {
	for _, m := range r.Measured {
		if m.Contender == c {
			return m, true
		}
	}
	return Result{}, false
}

// Speedup is how many times faster a's bulk INSERT is than b's (b/a), or 0
// if either is missing.
func (r Results) Speedup(a, b Contender) float64 {
	ra, ok1 := r.Get(a)
	rb, ok2 := r.Get(b)
	if !ok1 || !ok2 || ra.Bulk == 0 {
		return 0
	}
	return float64(rb.Bulk) / float64(ra.Bulk)
}

// SpeedupCPU is like Speedup on server CPU time, or 0 if not measured.
func (r Results) SpeedupCPU(a, b Contender) float64 {
	ra, ok1 := r.Get(a)
	rb, ok2 := r.Get(b)
	if !ok1 || !ok2 || ra.BulkCPU == 0 {
		return 0
	}
	return float64(rb.BulkCPU) / float64(ra.BulkCPU)
}

// String renders the results as a table.
func (r Results) String() string {
	var b strings.Builder
	cols := "id, uuid, name"
	if r.Options.NoUUID {
		cols = "id, name"
	}
	fmt.Fprintf(&b, "PostgreSQL %s, %d rows (%s), wide column %d bytes, median of %d\n",
		r.Server, r.Options.Rows, cols, r.Options.WideBytes, r.Options.Repeats)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "contender\tbulk\tx none\tx exception\tmin\tcpu\tcpu x exception\tsingle-row\tx none\t")
	for _, m := range r.Measured {
		single := "-\t-"
		if m.Single > 0 {
			single = fmt.Sprintf("%v\t%.2f", m.Single.Round(time.Millisecond), m.SingleRatio)
		}
		fmt.Fprintf(w, "%s\t%v\t%.2f\t%.2f\t%v\t%v\t%.2f\t%s\t\n", m.Contender, m.Bulk.Round(time.Millisecond),
			m.BulkRatio, r.Speedup(m.Contender, ExceptionBlocks), m.BulkMin.Round(time.Millisecond),
			m.BulkCPU.Round(time.Millisecond), r.SpeedupCPU(m.Contender, ExceptionBlocks), single)
	}
	w.Flush()
	return b.String()
}

// Measure runs the measurement against the database at connString, which
// needs CREATE on the database. It blocks until done; ctx cancels it.
func Measure(ctx context.Context, connString string, opts Options) (Results, error) {
	o := opts.withDefaults()
	res := Results{Options: o}
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return res, fmt.Errorf("writecost: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&res.Server); err != nil {
		return res, fmt.Errorf("writecost: %w", err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	schema := "writecost_" + hex.EncodeToString(rnd[:])
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	}()
	tables, err := setup(ctx, conn, schema, o)
	if err != nil {
		return res, fmt.Errorf("writecost: setup: %w", err)
	}
	var clients []*pgx.Conn
	if o.Clients > 0 {
		if clients, err = openClients(ctx, connString, tables, o); err != nil {
			return res, fmt.Errorf("writecost: clients: %w", err)
		}
		defer closeAll(ctx, clients)
	}
	bulk := make(map[Contender][]time.Duration)
	bulkCPU := make(map[Contender][]time.Duration)
	single := make(map[Contender][]time.Duration)
	for rep := range o.Repeats {
		// Rotate the order so no contender always runs first or last.
		for i := range o.Contenders {
			c := o.Contenders[(i+rep)%len(o.Contenders)]
			d, cpu, err := timeBulk(ctx, conn, tables[c])
			if err != nil {
				return res, fmt.Errorf("writecost: bulk %s: %w", c, err)
			}
			bulk[c] = append(bulk[c], d)
			bulkCPU[c] = append(bulkCPU[c], cpu)
			if o.Clients > 0 {
				d, err := timeSingle(ctx, clients, tables[c], o)
				if err != nil {
					return res, fmt.Errorf("writecost: single-row %s: %w", c, err)
				}
				single[c] = append(single[c], d)
			}
		}
	}
	base, baseSingle := median(bulk[NoTrigger]), median(single[NoTrigger])
	for _, c := range o.Contenders {
		m := Result{Contender: c, BulkSamples: bulk[c], Bulk: median(bulk[c]), BulkMin: slices.Min(bulk[c]), BulkCPU: median(bulkCPU[c]), Single: median(single[c])}
		m.BulkRatio = float64(m.Bulk) / float64(base)
		if baseSingle > 0 {
			m.SingleRatio = float64(m.Single) / float64(baseSingle)
		}
		res.Measured = append(res.Measured, m)
	}
	return res, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
