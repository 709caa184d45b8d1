package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

func TestDeliversChangesToTableAndAllTopicsAfterInitialResync(t *testing.T) {
	b := setup(t, options{})
	table := pubsub.NewMailbox(16)
	defer table.Close()
	if err := b.l.Subscribe(table, "public", "users"); err != nil {
		t.Fatal(err)
	}
	// The first LISTEN counts too: subscribers reload once it is up.
	if ev := expectResync(t, b.mb, 10*time.Second); ev.Reason != pubsub.ReasonListen {
		t.Fatalf("Resync reason %q", ev.Reason)
	}
	expectResync(t, table, time.Second)

	conn := connect(t, b.url)
	notify(t, conn, listener.DefaultChannel, "public.users:INSERT:1", "public.orders:DELETE:9", "public.users:UPDATE:1")
	expectChange(t, b.mb, "public.users:INSERT:1")
	expectChange(t, b.mb, "public.orders:DELETE:9")
	expectChange(t, b.mb, "public.users:UPDATE:1")
	expectChange(t, table, "public.users:INSERT:1")
	expectChange(t, table, "public.users:UPDATE:1")

	// The dispatcher counts a chunk as published once the PubSub has
	// delivered it, which a consumer may see first.
	eventually(t, 5*time.Second, "Published 3", func() bool { return b.l.Stats().Published == 3 })
	s := b.l.Stats()
	if !s.Connected || !s.Running || s.Received != 3 || s.Published != 3 || s.Invalid != 0 || s.Reconnects != 0 || s.Resyncs != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

// The channel is quoted as an identifier: a mixed-case name with a space
// is heard exactly, and only one dedicated connection is used.
func TestQuotedChannelAndOneDedicatedConnection(t *testing.T) {
	const ch = `Mixed "Case" channel`
	b := setup(t, options{cfg: listener.Config{Channel: ch}})
	expectResync(t, b.mb, 10*time.Second)
	conn := connect(t, b.url)
	notify(t, conn, strings.ToLower(ch), "public.t:INSERT:lower") // a different channel
	notify(t, conn, ch, "public.t:INSERT:exact")
	expectChange(t, b.mb, "public.t:INSERT:exact")
	// One dedicated connection, and it stays the same one. Waited for,
	// not read once: the cross-session probe's short-lived connection
	// carries the same application name.
	pid := theBackend(t, pg, b.app)
	notify(t, conn, ch, "public.t:INSERT:again")
	expectChange(t, b.mb, "public.t:INSERT:again")
	if again := theBackend(t, pg, b.app); again != pid {
		t.Fatalf("listener backend %d, then %d: want the one connection throughout", pid, again)
	}
}

func TestInvalidPayloadsAreCountedAndNeverStopTheListener(t *testing.T) {
	b := setup(t, options{})
	expectResync(t, b.mb, 10*time.Second)
	conn := connect(t, b.url)
	garbage := []string{
		"", "garbage", "public.users", "public.users:MERGE:1", "\x01\x02\x7f binary \u00ff",
		strings.Repeat("x", 7999), ":::", ".t:INSERT:1",
	}
	for i, g := range garbage {
		notify(t, conn, listener.DefaultChannel, g, fmt.Sprintf("public.t:INSERT:%d", i))
	}
	for i := range garbage {
		expectChange(t, b.mb, fmt.Sprintf("public.t:INSERT:%d", i))
	}
	eventually(t, 5*time.Second, "Invalid count", func() bool { return b.l.Stats().Invalid == uint64(len(garbage)) })
	eventually(t, 5*time.Second, "Published count", func() bool { return b.l.Stats().Published == uint64(len(garbage)) })
	if s := b.l.Stats(); !s.Connected || s.Reconnects != 0 || s.Published != uint64(len(garbage)) {
		t.Fatalf("Stats = %+v", s)
	}
	// Logged, rate-limited and truncated: never the 7999-byte payload.
	if n := b.logs.Count("invalid notification payload"); n < 1 || n >= len(garbage) {
		t.Fatalf("%d invalid-payload log lines for %d payloads; want rate-limited", n, len(garbage))
	}
	if strings.Contains(b.logs.String(), strings.Repeat("x", 200)) {
		t.Fatal("a long payload was logged whole")
	}
}

func TestSecondServeFailsAtOnce(t *testing.T) {
	b := setup(t, options{})
	expectResync(t, b.mb, 10*time.Second)
	err := b.l.Serve(context.Background())
	if !errors.Is(err, listener.ErrAlreadyRunning) || !errors.Is(err, suture.ErrDoNotRestart) {
		t.Fatalf("second Serve: %v", err)
	}
}

func TestShutdownIsPromptAndLeavesNoBackend(t *testing.T) {
	b := setup(t, options{})
	expectResync(t, b.mb, 10*time.Second)
	theBackend(t, pg, b.app)
	start := time.Now()
	if err := b.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve returned %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Serve took %v to return after cancel", d)
	}
	if b.l.Running() || b.l.Connected() {
		t.Fatal("Running or Connected after Serve returned")
	}
	eventually(t, 5*time.Second, "the listener backend to go away", func() bool { return len(backends(t, pg, b.app)) == 0 })
	if !strings.Contains(b.logs.String(), "listening") {
		t.Fatal("no 'listening' log line")
	}
}

func TestSubscribeWhileStoppedWorksOnceRunning(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: listener.Config{StartGrace: 20 * time.Millisecond}})
	late := pubsub.NewMailbox(8)
	defer late.Close()
	if err := b.l.Subscribe(late, "public", "t"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the 'not running' warning", func() bool {
		return strings.Contains(b.logs.String(), "not running")
	})
	b.serve(t)
	expectResync(t, late, 10*time.Second)
	notify(t, connect(t, b.url), listener.DefaultChannel, "public.t:INSERT:1")
	expectChange(t, late, "public.t:INSERT:1")
}

func TestEnsureStartedWarnsAtMostOncePer10s(t *testing.T) {
	// The clock is read by the start check's timer goroutine.
	var clock atomic.Int64
	clock.Store(time.Unix(1000, 0).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	b := setup(t, options{noServe: true, cfg: listener.Config{Now: now, StartGrace: time.Millisecond}})
	settled(t, b.l)
	if got := b.logs.Count(notRunningLine); got != 1 {
		t.Fatalf("%d warnings after SubscribeAll's grace, want 1", got)
	}
	for range 50 {
		b.l.EnsureStarted()
		settled(t, b.l)
	}
	if got := b.logs.Count(notRunningLine); got != 1 {
		t.Fatalf("%d warnings within the same 10 s, want 1", got)
	}
	clock.Add(int64(11 * time.Second))
	for range 50 {
		b.l.EnsureStarted()
		settled(t, b.l)
	}
	if got := b.logs.Count(notRunningLine); got != 2 {
		t.Fatalf("%d warnings after 11 s, want 2", got)
	}
	b.serve(t)
	expectResync(t, b.mb, 10*time.Second)
	clock.Add(int64(time.Minute))
	b.l.EnsureStarted()
	if listener.StartCheckPending(b.l) || b.logs.Count(notRunningLine) != 2 {
		t.Fatal("EnsureStarted scheduled a warning while running")
	}
}

func TestProbeTrafficNeverReachesSubscribers(t *testing.T) {
	b := setup(t, options{cfg: listener.Config{ProbeInterval: 100 * time.Millisecond}})
	expectResync(t, b.mb, 10*time.Second)
	// A second Listener on the same database and channel.
	other := setup(t, options{url: b.url})
	expectResync(t, other.mb, 10*time.Second)
	eventually(t, 10*time.Second, "several probes", func() bool { return b.l.Stats().Probes >= 5 })
	if s := b.l.Stats(); s.Received != 0 || s.Reconnects != 0 {
		t.Fatalf("probing Listener stats %+v", s)
	}
	if s := other.l.Stats(); s.Received != 0 {
		t.Fatalf("the other Listener heard probe traffic: %+v", s)
	}
	select {
	case ev := <-b.mb.C():
		t.Fatalf("probe traffic reached a mailbox: %v", ev)
	default:
	}
}
