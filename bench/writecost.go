package main

import (
	"context"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/internal/writecost"
)

// triggerNames describes writecost's contenders in the table.
var triggerNames = map[writecost.Contender]string{
	writecost.NoTrigger:        "no trigger",
	writecost.ExceptionBlocks:  "PhoenixKit exception blocks",
	writecost.JSONB:            "to_jsonb(NEW) (reference)",
	writecost.DirectRead:       "NEW.uuid direct (lower bound)",
	writecost.LibraryRow:       "library row trigger",
	writecost.LibraryStatement: "library per-statement",
}

// runWriteCost measures section 4 with internal/writecost: identical
// tables differing only in their trigger, contenders rotated per
// repetition, ratios of throughput to the table without a trigger.
func runWriteCost(ctx context.Context, e *env, cfg config) ([]Row, error) {
	res, err := writecost.Measure(ctx, e.url, writecost.Options{
		Rows:    cfg.wcRows,
		Repeats: cfg.reps,
		Clients: cfg.wcClients,
		Txns:    cfg.wcTxns,
	})
	if err != nil {
		return nil, err
	}
	o := res.Options
	const sec = "4 write cost"
	bulkMeas := fmt.Sprintf("bulk INSERT of %d rows", o.Rows)
	singleMeas := fmt.Sprintf("1-row txns, %d clients x %d", o.Clients, o.Txns)
	none, _ := res.Get(writecost.NoTrigger)
	var bulk, single []Row
	for _, m := range res.Measured {
		name := triggerNames[m.Contender]
		if name == "" {
			name = string(m.Contender)
		}
		xs := make([]float64, len(m.BulkSamples))
		for i, d := range m.BulkSamples {
			xs[i] = float64(o.Rows) / d.Seconds()
		}
		r := sample(sec, bulkMeas, name, "rows/s", xs)
		r.Median = float64(o.Rows) / m.Bulk.Seconds() // writecost's median time
		r.Ratio = float64(none.Bulk) / float64(m.Bulk)
		if m.Contender == writecost.LibraryRow {
			sp := res.Speedup(writecost.LibraryRow, writecost.ExceptionBlocks)
			r.goal(fmt.Sprintf(">= 1.5x exception blocks (%.2fx)", sp), sp >= 1.5)
		}
		bulk = append(bulk, r)
		if m.Single > 0 {
			// writecost keeps only the median of the concurrent phase.
			s := sample(sec, singleMeas, name, "txn/s", []float64{float64(o.Clients*o.Txns) / m.Single.Seconds()})
			s.Ratio = float64(none.Single) / float64(m.Single)
			single = append(single, s)
		}
	}
	progress("write cost: library row trigger %.2fx faster than exception blocks (bulk)",
		res.Speedup(writecost.LibraryRow, writecost.ExceptionBlocks))
	return append(bulk, single...), nil
}
