package main

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// burstResults collects section 8's burst figures: events/s per instance
// from just before COMMIT until the last instance had the last row, with
// batched stream messages (the default) and with one message per change
// (cluster.Config.SingleChangeMessages), and the changes per stream
// message each achieved.
type burstResults struct {
	group, unbatchedGroup string
	instances             int
	single, groupR        []float64 // single instance and batched group, paired
	perMsg                []float64 // changes per stream message, batched group
	single2, unbatched    []float64 // single instance and unbatched group, paired
	perMsgUnbatched       []float64
	bare                  []float64 // bareRound, same size and consumer count
}

// burstRound writes n rows in one transaction to the table of dbURL and
// returns events/s from just before COMMIT until every instance of g had
// every row, and for a cluster group the changes per stream message
// (read from the first instance's stream position; 0 otherwise).
func (ce *clusterEnv) burstRound(ctx context.Context, g *group, dbURL string, n int) (rate, perMsg float64, err error) {
	g.arm(ce.nextID, n)
	var pos0 uint64
	if cl := g.ins[0].cl; cl != nil {
		pos0 = cl.Stats().Position
	}
	pg := ce.writers[dbURL].PgConn()
	sql := fmt.Sprintf("BEGIN; INSERT INTO %s (id, name) SELECT g, 'x' FROM generate_series(%d::bigint, %d::bigint) g",
		clusterTable, ce.nextID+1, ce.nextID+int64(n))
	if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
		return 0, 0, err
	}
	ce.nextID += int64(n)
	runtime.GC() // nobody else's garbage on this clock
	t0 := time.Now()
	if _, err := pg.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return 0, 0, err
	}
	t1, err := g.wait(2 * time.Minute)
	if err != nil {
		return 0, 0, err
	}
	if cl := g.ins[0].cl; cl != nil {
		if msgs := cl.Stats().Position - pos0; msgs > 0 {
			perMsg = float64(n) / float64(msgs)
		}
	}
	return float64(n) / t1.Sub(t0).Seconds(), perMsg, nil
}

// measure times cfg.reps bursts of cfg.clusterBurst rows on the single
// instance and on g alternately, after a warm-up burst of a tenth on each;
// unbatched says g runs with SingleChangeMessages. The bare JetStream
// round goes with the batched group's.
func (br *burstResults) measure(ctx context.Context, ce *clusterEnv, cfg config, single, g *group, unbatched bool) error {
	if unbatched {
		br.unbatchedGroup = g.name
	} else {
		br.group = g.name
	}
	br.instances = len(g.ins)
	n := cfg.clusterBurst
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		k := n
		if rep < 0 {
			k = max(n/10, 100)
		}
		s, _, err := ce.burstRound(ctx, single, ce.singleURL, k)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		c, per, err := ce.burstRound(ctx, g, ce.groupURL, k)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		if rep < 0 {
			continue
		}
		if unbatched {
			br.single2, br.unbatched, br.perMsgUnbatched = append(br.single2, s), append(br.unbatched, c), append(br.perMsgUnbatched, per)
			progress("8 cluster: burst rep %d/%d: %s %.1fk ev/s, %s %.1fk ev/s (%.3fx), %.1f changes/message",
				rep+1, cfg.reps, single.name, s/1e3, g.name, c/1e3, c/s, per)
			continue
		}
		b, err := ce.bareRound(ctx, rep, n, len(g.ins))
		if err != nil {
			return fmt.Errorf("bare JetStream: %w", err)
		}
		br.single, br.groupR, br.bare, br.perMsg = append(br.single, s), append(br.groupR, c), append(br.bare, b), append(br.perMsg, per)
		progress("8 cluster: burst rep %d/%d: %s %.1fk ev/s, %s %.1fk ev/s (%.3fx), %.1f changes/message, %s %.1fk msg/s",
			rep+1, cfg.reps, single.name, s/1e3, g.name, c/1e3, c/s, per, nameBareJS(len(g.ins)), b/1e3)
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
	rows := []Row{s, c, b}
	perMeas := fmt.Sprintf("changes per stream message in the burst of %d", cfg.clusterBurst)
	rows = append(rows, sample(clusterSection, perMeas, br.group, "changes/msg", br.perMsg))
	if br.unbatchedGroup != "" {
		u := sample(clusterSection, meas, br.unbatchedGroup, "ev/s", br.unbatched)
		if len(br.unbatched) > 0 {
			u.Ratio = median(pairedRatios(br.unbatched, br.single2))
		}
		// Batched against unbatched, each as a ratio of the single
		// instance measured beside it.
		if u.Ratio > 0 && c.Ratio > 0 {
			gain := c.Ratio / u.Ratio
			u.goal(fmt.Sprintf("batched at least 10x this (%.1fx)", gain), gain >= 10)
		}
		rows = append(rows, u, sample(clusterSection, perMeas, br.unbatchedGroup, "changes/msg", br.perMsgUnbatched))
	}
	return rows
}
