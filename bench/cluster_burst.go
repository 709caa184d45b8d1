package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// nameWriter names the writer's own pace in section 8's burst rows.
const nameWriter = "PostgreSQL committing them (the writer)"

// burstTxnRows is the size of each transaction of section 8's burst: the
// issue's shape, 100 single-table rows, committed one after another.
const burstTxnRows = 100

// burstOutcome is one burst round's figures.
type burstOutcome struct {
	rate   float64 // changes/s per instance, from the clock's start (see burstRound) to the last row at every mailbox
	write  float64 // rows/s committed by the writer (the last COMMIT's return)
	perMsg float64 // changes per stream message (0 for a single instance)
	msgs   uint64  // stream messages the burst took
	bytes  uint64  // their stored bytes
	cpu    float64 // CPU-seconds of this process (every instance of g) per change delivered to a mailbox
}

// burstSQL returns the n rows after first as transactions of burstTxnRows
// rows each, one after another, in one query string: PostgreSQL runs them
// back to back, committing each, with no round trip between them.
func burstSQL(first int64, n int) string {
	var b strings.Builder
	for from := first + 1; from <= first+int64(n); from += burstTxnRows {
		to := min(from+burstTxnRows-1, first+int64(n))
		fmt.Fprintf(&b, "BEGIN; INSERT INTO %s (id, name) SELECT g, 'x' FROM generate_series(%d::bigint, %d::bigint) g; COMMIT; ",
			clusterTable, from, to)
	}
	return b.String()
}

// burstRound writes n rows in transactions of burstTxnRows to the table
// of dbURL and measures until every instance of g had every row. For a
// cluster group it reads the changes per stream message from the first
// instance's stream position, and the stream's bytes (js, nil for a
// single instance).
//
// With held set (the proxy g reads PostgreSQL through), the round is a
// drain: the rows are committed while g's reading is held (see hold), and
// the clock and the CPU count start when it is released, so the writer's
// pace bounds nothing. Without, the clock starts before the first COMMIT.
//
// With profile set, the round is CPU-profiled into that file.
func (ce *clusterEnv) burstRound(ctx context.Context, g *group, dbURL string, n int, js jetstream.JetStream, stream, profile string, held *pgtest.Proxy) (burstOutcome, error) {
	var out burstOutcome
	g.armCount(ce.nextID, n)
	var pos0, bytes0 uint64
	info := func() (uint64, error) {
		if js == nil {
			return 0, nil
		}
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return 0, err
		}
		return s.CachedInfo().State.Bytes, nil
	}
	if cl := g.ins[0].cl; cl != nil {
		pos0 = cl.Stats().Position
	}
	var err error
	if bytes0, err = info(); err != nil {
		return out, err
	}
	pg := ce.writers[dbURL].PgConn()
	sql := burstSQL(ce.nextID, n)
	ce.nextID += int64(n)
	write := func() error {
		start := time.Now()
		if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
			return err
		}
		out.write = float64(n) / time.Since(start).Seconds()
		return nil
	}
	var t0 time.Time
	var cpu0 time.Duration
	stopProfile := func() {}
	// begin clears the heap of others' garbage and starts the counts.
	begin := func() error {
		runtime.GC()
		stop, err := startProfile(profile)
		if err != nil {
			return err
		}
		stopProfile, cpu0 = stop, selfCPU()
		return nil
	}
	if held == nil {
		if err := begin(); err != nil {
			return out, err
		}
		t0 = time.Now()
		if err := write(); err != nil {
			stopProfile()
			return out, err
		}
	} else {
		// The held instances are idle until the release: the counts start
		// after the write.
		t0, err = hold(ctx, held, g, func() error {
			if err := write(); err != nil {
				return err
			}
			return begin()
		})
		if err != nil {
			stopProfile()
			return out, err
		}
	}
	defer stopProfile()
	t1, err := g.wait(2 * time.Minute)
	if err != nil {
		return out, err
	}
	// The consumers have counted the last row: what the instances spent
	// on this burst is spent (the writer is PostgreSQL, another process).
	out.cpu = (selfCPU() - cpu0).Seconds() / float64(n*len(g.ins))
	stopProfile()
	out.rate = float64(n) / t1.Sub(t0).Seconds()
	if cl := g.ins[0].cl; cl != nil {
		if out.msgs = cl.Stats().Position - pos0; out.msgs > 0 {
			out.perMsg = float64(n) / float64(out.msgs)
		}
		b, err := info()
		if err != nil {
			return out, err
		}
		out.bytes = b - bytes0
	}
	return out, nil
}
