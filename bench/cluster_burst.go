package main

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// burstResults collects section 8's burst figures: events/s per instance
// from just before COMMIT until the last instance had the last row.
type burstResults struct {
	group          string
	instances      int
	single, groupR []float64
	bare           []float64 // bareRound, same size and consumer count
}

// burstRound writes n rows in one transaction to the table of dbURL and
// returns events/s from just before COMMIT until every instance of g had
// every row.
func (ce *clusterEnv) burstRound(ctx context.Context, g *group, dbURL string, n int) (float64, error) {
	g.arm(ce.nextID, n)
	pg := ce.writers[dbURL].PgConn()
	sql := fmt.Sprintf("BEGIN; INSERT INTO %s (id, name) SELECT g, 'x' FROM generate_series(%d::bigint, %d::bigint) g",
		clusterTable, ce.nextID+1, ce.nextID+int64(n))
	if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
		return 0, err
	}
	ce.nextID += int64(n)
	runtime.GC() // nobody else's garbage on this clock
	t0 := time.Now()
	if _, err := pg.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return 0, err
	}
	t1, err := g.wait(2 * time.Minute)
	if err != nil {
		return 0, err
	}
	return float64(n) / t1.Sub(t0).Seconds(), nil
}

// measure times cfg.reps bursts of cfg.clusterBurst rows on the single
// instance and on g alternately, after a warm-up burst of a tenth on each.
func (br *burstResults) measure(ctx context.Context, ce *clusterEnv, cfg config, single, g *group) error {
	br.group, br.instances = g.name, len(g.ins)
	n := cfg.clusterBurst
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		k := n
		if rep < 0 {
			k = max(n/10, 100)
		}
		s, err := ce.burstRound(ctx, single, ce.singleURL, k)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		c, err := ce.burstRound(ctx, g, ce.groupURL, k)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		if rep < 0 {
			continue
		}
		b, err := ce.bareRound(ctx, rep, n, len(g.ins))
		if err != nil {
			return fmt.Errorf("bare JetStream: %w", err)
		}
		br.single, br.groupR, br.bare = append(br.single, s), append(br.groupR, c), append(br.bare, b)
		progress("8 cluster: burst rep %d/%d: %s %.1fk ev/s, %s %.1fk ev/s (%.3fx), %s %.1fk msg/s",
			rep+1, cfg.reps, single.name, s/1e3, g.name, c/1e3, c/s, nameBareJS(len(g.ins)), b/1e3)
	}
	return nil
}

func (br *burstResults) rows(cfg config) []Row {
	if br.group == "" {
		return nil
	}
	meas := fmt.Sprintf("burst of %d changes in one txn, commit -> last row at every mailbox", cfg.clusterBurst)
	s := sample(clusterSection, meas, nameSingle, "ev/s", br.single)
	s.Ratio = 1
	c := sample(clusterSection, meas, br.group, "ev/s", br.groupR)
	c.Ratio = median(pairedRatios(br.groupR, br.single))
	c.goal("at least 0.50x the single instance", c.Ratio >= 0.5)
	b := sample(clusterSection, meas, nameBareJS(br.instances), "ev/s", br.bare)
	b.Ratio = median(pairedRatios(br.bare, br.single))
	return []Row{s, c, b}
}
