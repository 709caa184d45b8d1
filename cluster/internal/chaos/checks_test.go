//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// walAllowed are the Resync reasons a WAL cluster mailbox may read: its
// follower's start and its own (or the leader's relay's) overflow. A
// failover, a partition or a NATS restart must cause none.
var walAllowed = []pubsub.Reason{pubsub.ReasonStart, pubsub.ReasonOverflow}

// checkResyncs checks that one mailbox's Resyncs had causes: a Resync can
// cover any gap, so a module that sent them for nothing would pass the
// checker.
func checkResyncs(t *testing.T, m soakMode, r chaos.Report, c *consumer, sourceResyncs uint64) {
	t.Helper()
	if r.Delivered == 0 {
		t.Errorf("%s read no change at all", r.Name)
	}
	if n := r.Resyncs[pubsub.ReasonStart]; n > 1 {
		t.Errorf("%s read %d start Resyncs, want at most 1 (its follower's first run)", r.Name, n)
	}
	if c.MB.Dropped() > 0 && len(r.Resyncs) == 0 {
		t.Errorf("%s dropped %d events and read no Resync", r.Name, c.MB.Dropped())
	}
	if m.wal {
		return
	}
	if n := uint64(r.Resyncs[pubsub.ReasonListen]); n > sourceResyncs {
		t.Errorf("%s read %d listen Resyncs, the instances' Listeners established LISTEN only %d times", r.Name, n, sourceResyncs)
	}
	for reason := range r.Resyncs {
		if reason != pubsub.ReasonListen && reason != pubsub.ReasonOverflow && reason != pubsub.ReasonStart {
			t.Errorf("%s read Resyncs for an unexpected reason %q", r.Name, reason)
		}
	}
}

// allReady waits until every instance is enabled, one leads, and every
// instance's db.WaitReady returns (its follower consumes the stream and
// the leader's source is ready).
func allReady(ins []*instance) error {
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	for _, x := range ins {
		if err := x.db.WaitReady(ctx); err != nil {
			return fmt.Errorf("%s: %w; %s", x.name, err, state(ins))
		}
	}
	return nil
}

func allDrained(ins []*instance) bool {
	for _, x := range ins {
		for _, c := range x.readers {
			if c.MB.Len() > 0 {
				return false
			}
		}
	}
	return true
}

// checkSlotConfirmed waits until the cluster's slot has confirmed the WAL
// written up to now: a leader that stopped confirming would make it
// retain WAL for ever.
func checkSlotConfirmed(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	conn, err := chaos.ConnectWriter(ctx, dbURL, "chaos-admin")
	if err != nil {
		t.Error(err)
		return
	}
	var lsn string
	err = conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
	chaos.CloseConn(conn)
	if err != nil {
		t.Error(err)
		return
	}
	var behind []string
	// The source confirms every StatusInterval (10 s by default).
	if !chaos.WaitFor(45*time.Second, func() bool {
		b, ok := chaos.SlotsConfirmed(ctx, dbURL, []string{walSlot}, lsn)
		behind = b
		return ok && len(b) == 0
	}) {
		t.Errorf("slot did not confirm %s within 45s: %v", lsn, behind)
	}
}

// backendsOf returns the backends of each instance's change source, by
// instance name; -1 on a query error.
func backendsOf(srv *pgtest.Server, ins []*instance) map[string]int {
	out := map[string]int{}
	for _, x := range ins {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pids, err := srv.Backends(ctx, x.name)
		cancel()
		if err != nil {
			out[x.name] = -1
			continue
		}
		out[x.name] = len(pids)
	}
	return out
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		if v < 0 {
			return -1
		}
		n += v
	}
	return n
}

// consumers returns every instance's consumers.
func consumers(ins []*instance) []*chaos.Consumer {
	var cs []*chaos.Consumer
	for _, x := range ins {
		for _, c := range x.readers {
			cs = append(cs, c.Consumer)
		}
	}
	return cs
}
