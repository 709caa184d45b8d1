package listener_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Notifications keep flowing while the Listener connects and reconnects,
// so some arrive with LISTEN's reply and right behind it: every session
// still delivers a gap-free, in-order run of them after its Resync, and
// the stream never goes out of step (no protocol error, nothing invalid).
func TestFloodAcrossReconnects(t *testing.T) {
	b := setup(t, options{capacity: 1 << 16, noServe: true})
	sender := connect(t, b.url)
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan error, 1)
	go func() {
		var err error
		for i := 1; ctx.Err() == nil; i++ {
			// Batches of 50, one transaction each, so the stream is dense.
			if _, err = sender.Exec(ctx, `SELECT pg_notify($1, 'public.flood:INSERT:' || g) FROM generate_series($2::int, $2::int + 49) g`,
				listener.DefaultChannel, (i-1)*50+1); err != nil {
				break
			}
		}
		sent <- err
	}()
	defer func() {
		cancel()
		<-sent
	}()
	b.serve(t)

	var sessions, events int
	last := -1 // the last row id of the current session; -1 before its first
	check := func(ev pubsub.Event) {
		t.Helper()
		if ev.Kind == pubsub.Resync {
			if ev.Reason == pubsub.ReasonListen {
				sessions++
			}
			last = -1
			return
		}
		id, err := strconv.Atoi(ev.RowID)
		if err != nil || ev.Table != "flood" {
			t.Fatalf("unexpected event %v", ev)
		}
		if last >= 0 && id != last+1 {
			t.Fatalf("session %d: row %d after %d", sessions, id, last)
		}
		last = id
		events++
	}
	kill := func() {
		t.Helper()
		if err := pg.TerminateBackend(context.Background(), theBackend(t, pg, b.app)); err != nil {
			t.Fatal(err)
		}
	}
	// awaitSession reads until session n began, terminating the current
	// backend again when none began for 10 s: under load the terminated
	// backend can still be the only one the server lists, and a second
	// kill of it changes nothing, while the flood keeps the mailbox busy
	// (so next never times out). A bound keeps a stuck run from hanging.
	awaitSession := func(n int) {
		t.Helper()
		began, lastKill := time.Now(), time.Now()
		for sessions < n {
			if time.Since(began) > 2*time.Minute {
				t.Fatalf("session %d did not begin within 2 minutes (%d sessions, %d events); Stats %+v", n, sessions, events, b.l.Stats())
			}
			if time.Since(lastKill) > 10*time.Second && n > 1 {
				t.Logf("session %d has not begun 10 s after the kill: terminating again", n)
				kill()
				lastKill = time.Now()
			}
			check(next(t, b.mb, 10*time.Second))
		}
	}
	for round := 0; round < 3; round++ {
		awaitSession(round + 1)
		// Read the new session's stream for a while before killing it.
		for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
			check(next(t, b.mb, 10*time.Second))
		}
		kill()
	}
	awaitSession(4)
	for range 200 {
		check(next(t, b.mb, 10*time.Second))
	}
	if s := b.l.Stats(); s.Invalid != 0 || s.Reconnects < 3 {
		t.Fatalf("Stats = %+v", s)
	}
	if logs := b.logs.String(); strings.Contains(logs, "protocol error") || !strings.Contains(logs, "57P01") {
		t.Fatalf("logs show a protocol error or no SQLSTATE 57P01:\n%s", logs)
	}
	t.Logf("%d events over %d sessions", events, sessions)
}
