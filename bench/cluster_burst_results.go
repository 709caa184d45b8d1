package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// burstSeries is one cluster group's burst rounds in one mode (the clock
// from the first COMMIT, or from the release of held reading), each paired
// with a round of the single instance in the same mode just before it.
type burstSeries struct {
	single, group       []float64 // changes/s per instance, paired
	perMsg              []float64 // changes per stream message, the group's rounds
	bare                []float64 // bareRound of the group's messages, in changes/s per consumer
	writer              []float64 // rows/s the writer committed, the group's rounds
	cpuSingle, cpuGroup []float64 // burstOutcome.cpu, paired
}

func (s *burstSeries) add(single, group burstOutcome, bare float64) {
	s.single, s.group, s.perMsg = append(s.single, single.rate), append(s.group, group.rate), append(s.perMsg, group.perMsg)
	s.writer, s.bare = append(s.writer, group.write), append(s.bare, bare)
	s.cpuSingle, s.cpuGroup = append(s.cpuSingle, single.cpu), append(s.cpuGroup, group.cpu)
}

// ratio is the median of the group's rates over the single instance's,
// per pair of rounds; 0 without rounds.
func (s *burstSeries) ratio() float64 {
	if len(s.group) == 0 {
		return 0
	}
	return median(pairedRatios(s.group, s.single))
}

// burstResults collects section 8's burst figures: changes/s per instance
// until the last instance had the last row, with batched stream messages
// (the default) and with one message per change
// (cluster.Config.SingleChangeMessages), each paired with the single
// instance; the changes per stream message each achieved, PostgreSQL's
// own pace (the writer's commits) and the bare JetStream ceiling for
// messages of the shape each achieved. Each round is measured twice: timed
// from the first COMMIT while the instances read as it commits (bounded by
// the writer's pace), and committed while their reading is held, timed from
// the release (the drain: what the path delivers when PostgreSQL has a
// backlog).
type burstResults struct {
	group, unbatchedGroup string
	instances             int
	batched, unbatched    burstSeries // from the first COMMIT
	batchedHeld           burstSeries // from the release
	unbatchedHeld         burstSeries
	gain                  []float64 // batched group's drain over the unbatched one's, per rep
}

// burstGroup is a cluster group of the burst part, on a database and a
// stream of its own.
type burstGroup struct {
	g     *group
	dbURL string
	spec  *clusterSpec
}

// measure times cfg.reps bursts of cfg.clusterBurst rows, after a warm-up
// burst of a tenth: per rep, first as the writer commits them, then
// committed while reading is held (the instances read through h's
// proxies), on the single instance and the batched group b, then on the
// single instance and the unbatched group u, so that each pair, and b
// against u, see about the same load. Each rep also runs the bare
// JetStream round with as many messages of the size each group's burst
// took (for u once: its messages are the same held or not).
func (br *burstResults) measure(ctx context.Context, ce *clusterEnv, cfg config, single *group, b, u *burstGroup, h holds) error {
	br.group, br.unbatchedGroup, br.instances = b.g.name, u.g.name, len(b.g.ins)
	nc, err := nats.Connect(ce.ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	n := cfg.clusterBurst
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		k := n
		if rep < 0 {
			k = max(n/10, 100)
		}
		for _, held := range []bool{false, true} {
			what := "first COMMIT ->"
			if held {
				what = "held, release ->"
			}
			var drains [2]float64
			for i, bg := range []*burstGroup{b, u} {
				unbatched := i == 1
				series := br.series(unbatched, held)
				var sh, gh *pgtest.Proxy
				if held {
					sh, gh = h[ce.singleURL], h[bg.dbURL]
				}
				s, err := ce.burstRound(ctx, single, ce.singleURL, k, nil, "", "", sh)
				if err != nil {
					return fmt.Errorf("burst (%s): %w", what, err)
				}
				profile := ""
				if rep == 0 && held && !unbatched {
					profile = cfg.clusterProfile
				}
				c, err := ce.burstRound(ctx, bg.g, bg.dbURL, k, js, bg.spec.stream, profile, gh)
				if err != nil {
					return fmt.Errorf("burst (%s): %w", what, err)
				}
				if rep < 0 {
					continue
				}
				drains[i] = c.rate
				// The ceiling for what this burst took: as many messages,
				// of the size they had on average, to as many consumers.
				var bare float64
				size := int(c.bytes / max(c.msgs, 1))
				if !unbatched || !held {
					if bare, err = ce.bareRound(ctx, rep, int(c.msgs), len(bg.g.ins), size); err != nil {
						return fmt.Errorf("bare JetStream: %w", err)
					}
					bare *= c.perMsg // messages/s -> changes/s
				}
				series.add(s, c, bare)
				ceiling := ""
				if bare > 0 {
					ceiling = fmt.Sprintf(", %s %.1fk ev/s", nameBareJS(len(bg.g.ins)), bare/1e3)
				}
				progress("8 cluster: burst rep %d/%d, %s: %s %.1fk ev/s, %s %.1fk ev/s (%.3fx), %.1f changes/message of %d bytes%s; PostgreSQL committed %.1fk rows/s",
					rep+1, cfg.reps, what, single.name, s.rate/1e3, bg.g.name, c.rate/1e3, c.rate/s.rate, c.perMsg, size, ceiling, c.write/1e3)
			}
			if held && rep >= 0 && drains[1] > 0 {
				br.gain = append(br.gain, drains[0]/drains[1])
			}
		}
	}
	return nil
}

// series returns the figures of one group in one mode.
func (br *burstResults) series(unbatched, held bool) *burstSeries {
	switch {
	case unbatched && held:
		return &br.unbatchedHeld
	case unbatched:
		return &br.unbatched
	case held:
		return &br.batchedHeld
	}
	return &br.batched
}

// Measurements of the burst rows.
func burstMeas(cfg config) string {
	return fmt.Sprintf("burst of %d changes in txns of %d rows, first commit -> last row at every mailbox", cfg.clusterBurst, burstTxnRows)
}

func heldMeas(cfg config) string {
	return fmt.Sprintf("burst of %d changes in txns of %d rows committed while reading is held, release -> last row at every mailbox", cfg.clusterBurst, burstTxnRows)
}

// rows returns the burst rows: as the writer commits (bounded by its pace,
// which is shown beside), then the held burst's drain, which carries the
// issue's goals: at least 0.5x the single instance's drain, and batched at
// least 10x one message per change.
func (br *burstResults) rows(cfg config) []Row {
	if br.group == "" {
		return nil
	}
	var rows []Row
	for _, m := range []struct {
		meas               string
		batched, unbatched *burstSeries
		goals              bool
	}{{burstMeas(cfg), &br.batched, &br.unbatched, false}, {heldMeas(cfg), &br.batchedHeld, &br.unbatchedHeld, true}} {
		s := sample(clusterSection, m.meas, nameSingle, "ev/s", m.batched.single)
		s.Ratio = 1
		c := sample(clusterSection, m.meas, br.group, "ev/s", m.batched.group)
		c.Ratio = m.batched.ratio()
		if m.goals {
			c.goal("at least 0.50x the single instance", c.Ratio >= 0.5)
		}
		b := sample(clusterSection, m.meas, nameBareJS(br.instances)+", the batched messages", "ev/s", m.batched.bare)
		b.Ratio = median(pairedRatios(m.batched.bare, m.batched.single))
		rows = append(rows, s, c, b)
		if !m.goals {
			w := sample(clusterSection, m.meas, nameWriter, "ev/s", m.batched.writer)
			w.Ratio = median(pairedRatios(m.batched.writer, m.batched.single))
			rows = append(rows, w)
		}
		if br.unbatchedGroup == "" {
			continue
		}
		// Batched against unbatched, each as a ratio of the single
		// instance measured beside it.
		u := sample(clusterSection, m.meas, br.unbatchedGroup, "ev/s", m.unbatched.group)
		u.Ratio = m.unbatched.ratio()
		// The free burst's gain is bounded by the writer's pace (its row
		// above); the goal is the drain's.
		if m.goals && len(br.gain) > 0 {
			gain := median(br.gain)
			u.goal(fmt.Sprintf("batched at least 10x this (%.1fx, paired rounds)", gain), gain >= 10)
		}
		rows = append(rows, u)
		if !m.goals {
			ub := sample(clusterSection, m.meas, nameBareJS(br.instances)+", one message per change", "ev/s", m.unbatched.bare)
			ub.Ratio = median(pairedRatios(m.unbatched.bare, m.unbatched.single))
			rows = append(rows, ub)
		}
	}
	if len(br.gain) > 0 {
		rows = append(rows, sample(clusterSection, "held burst's drain: batched over one message per change, paired rounds",
			br.group, "x", br.gain))
	}
	rows = append(rows, br.cpuRows()...)
	perMeas := fmt.Sprintf("changes per stream message in the burst of %d", cfg.clusterBurst)
	heldPer := fmt.Sprintf("changes per stream message in the held burst of %d", cfg.clusterBurst)
	rows = append(rows, sample(clusterSection, perMeas, br.group, "changes/msg", br.batched.perMsg),
		sample(clusterSection, heldPer, br.group, "changes/msg", br.batchedHeld.perMsg))
	if br.unbatchedGroup != "" {
		rows = append(rows, sample(clusterSection, perMeas, br.unbatchedGroup, "changes/msg", br.unbatched.perMsg),
			sample(clusterSection, heldPer, br.unbatchedGroup, "changes/msg", br.unbatchedHeld.perMsg))
	}
	return rows
}

// cpuRows returns what the instances' process spent per change delivered
// to a mailbox, single instance and batched group, in both modes, and the
// cores the group would need to reach 0.5x the single instance's drain at
// its CPU per change in the drain: all instances run in this process, on
// this machine's cores.
func (br *burstResults) cpuRows() []Row {
	ns := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x * 1e9
		}
		return out
	}
	var rows []Row
	for _, m := range []struct {
		meas   string
		series *burstSeries
	}{
		{"CPU of the instances' process per change delivered to a mailbox, in the burst", &br.batched},
		{"CPU of the instances' process per change delivered to a mailbox, in the held burst's drain", &br.batchedHeld},
	} {
		s := sample(clusterSection, m.meas, nameSingle, "ns", ns(m.series.cpuSingle))
		g := sample(clusterSection, m.meas, br.group, "ns", ns(m.series.cpuGroup))
		if s.Median > 0 {
			g.Ratio = g.Median / s.Median
		}
		rows = append(rows, s, g)
	}
	// At 0.5x the single instance's drain, every instance delivers that
	// many changes a second, each costing the group's CPU per change.
	h := &br.batchedHeld
	var need []float64
	for i := range min(len(h.single), len(h.cpuGroup)) {
		need = append(need, 0.5*h.single[i]*float64(br.instances)*h.cpuGroup[i])
	}
	n := sample(clusterSection, "cores the batched group needs for 0.5x the single instance's drain at its CPU per change",
		br.group, "cores", need)
	cores := runtime.NumCPU()
	n.goal(fmt.Sprintf("at most the %d cores here (with 0.5x %s)", cores, map[bool]string{true: "met", false: "not met"}[h.ratio() >= 0.5]),
		n.Median <= float64(cores))
	return append(rows, n)
}
