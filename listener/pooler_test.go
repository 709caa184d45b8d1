package listener_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// poolerError is what the Listener logs when other sessions'
// notifications do not reach it.
const poolerError = "transaction-mode pooler"

// Behind PgBouncer in transaction mode the Listener's own probe comes back
// but other sessions' notifications are dropped. The Listener must not
// stay silently deaf: within a few probe intervals the change arrives, or
// subscribers get a Resync and an ERROR names the likely cause.
func TestTransactionPoolerIsNeverSilent(t *testing.T) {
	const probe = 500 * time.Millisecond
	dbURL := pgtest.NewDB(t, pg)
	bouncer := pgtest.RequirePgBouncer(t, pg, pgtest.PoolTransaction)
	b := setup(t, options{url: bouncer.Via(dbURL), cfg: listener.Config{ProbeInterval: probe}})
	expectResync(t, b.mb, 10*time.Second)
	start := time.Now()
	// The change is committed on the server directly: only the pooler
	// stands between it and the Listener.
	notify(t, connectTest(t, dbURL), listener.DefaultChannel, "public.t:INSERT:through-pooler")
	ev := next(t, b.mb, 12*probe)
	switch {
	case ev.Kind == pubsub.TableChanged && ev.String() == "public.t:INSERT:through-pooler":
		t.Log("the change came through")
		return
	case ev.Kind != pubsub.Resync:
		t.Fatalf("got %v, want the change or a Resync", ev)
	}
	t.Logf("Resync %v after LISTEN", time.Since(start).Round(time.Millisecond))
	eventually(t, 5*time.Second, "the ERROR naming the pooler", func() bool {
		return strings.Contains(b.logs.String(), "level=ERROR") && b.logs.Count(poolerError) > 0
	})
	// Every later attempt fails the same way, each with a Resync; the
	// ERROR is rate-limited.
	expectResync(t, b.mb, 30*probe)
	if n := b.logs.Count(poolerError); n != 1 {
		t.Errorf("%d ERRORs within the rate limit, want 1", n)
	}
	// Changes never flowed, so the Listener never said it was ready.
	ctx, cancel := context.WithTimeout(context.Background(), probe)
	defer cancel()
	if err := b.l.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReady behind a transaction pooler = %v, want DeadlineExceeded", err)
	}
	if b.logs.Count("cross-session probe received") != 0 {
		t.Error("a cross-session probe came through a transaction pooler")
	}
}

// Behind PgBouncer in session mode the Listener works as on a direct
// connection: changes flow, and the cross-session probes (after LISTEN and
// on a quiet connection) cause no Resync.
func TestSessionPoolerWorks(t *testing.T) {
	const probe = 200 * time.Millisecond
	dbURL := pgtest.NewDB(t, pg)
	bouncer := pgtest.RequirePgBouncer(t, pg, pgtest.PoolSession)
	b := setup(t, options{url: bouncer.Via(dbURL), cfg: listener.Config{ProbeInterval: probe}})
	expectResync(t, b.mb, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.l.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady through a session pooler: %v", err)
	}
	sender := connectTest(t, dbURL)
	notify(t, sender, listener.DefaultChannel, "public.t:INSERT:1")
	expectChange(t, b.mb, "public.t:INSERT:1")
	// Quiet for longer than the cross-session probe's period (12 probe
	// intervals), so that a probe on the idle connection runs too.
	quiet := time.Now().Add(20 * probe)
	for time.Now().Before(quiet) {
		select {
		case ev := <-b.mb.C():
			t.Fatalf("unexpected %v; stats %+v; log:\n%s", ev, b.l.Stats(), b.logs.String())
		case <-time.After(time.Until(quiet)):
		}
	}
	notify(t, sender, listener.DefaultChannel, "public.t:INSERT:2")
	expectChange(t, b.mb, "public.t:INSERT:2")
	if s := b.l.Stats(); s.Reconnects != 0 || s.Resyncs != 1 || b.logs.Count("level=ERROR") != 0 {
		t.Fatalf("stats %+v; log:\n%s", s, b.logs.String())
	}
	if b.logs.Count("cross-session probe received") == 0 {
		t.Fatalf("no cross-session probe came through the pooler; log:\n%s", b.logs.String())
	}
}
