package listener_test

import (
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

const notRunningLine = "not running; live updates will not work"

// settled waits until no EnsureStarted check is pending, so that the log
// holds every warning earlier calls will ever write.
func settled(t *testing.T, l *listener.Listener) {
	t.Helper()
	eventually(t, 10*time.Second, "no pending start check", func() bool { return !listener.StartCheckPending(l) })
}

// At a normal start-up the subscriptions come first and the supervisor
// starts the Listener right after: no warning, now or later.
func TestEnsureStartedQuietAtNormalStartup(t *testing.T) {
	b := setup(t, options{noServe: true}) // SubscribeAll before Serve, with the default grace
	extra := pubsub.NewMailbox(8)
	defer extra.Close()
	if err := b.l.Subscribe(extra, "public", "t"); err != nil {
		t.Fatal(err)
	}
	b.serve(t)
	expectResync(t, b.mb, 10*time.Second)
	settled(t, b.l)
	if n := b.logs.Count(notRunningLine); n != 0 {
		t.Fatalf("%d 'not running' warnings at a normal start-up:\n%s", n, b.logs.String())
	}
}

// A Listener nobody starts is reported once the grace period has passed,
// once however many subscriptions ask.
func TestEnsureStartedWarnsWhenNeverStarted(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: listener.Config{StartGrace: 50 * time.Millisecond}})
	eventually(t, 10*time.Second, "the warning", func() bool { return b.logs.Count(notRunningLine) > 0 })
	for range 20 {
		mb := pubsub.NewMailbox(1)
		if err := b.l.Subscribe(mb, "public", "t"); err != nil {
			t.Fatal(err)
		}
		mb.Close()
	}
	settled(t, b.l)
	if n := b.logs.Count(notRunningLine); n != 1 {
		t.Fatalf("%d warnings, want 1 (rate limited to one per 10 s):\n%s", n, b.logs.String())
	}
}

// The check waits the whole grace period: a Listener started late but
// within it is not reported.
func TestEnsureStartedWaitsForTheGrace(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: listener.Config{StartGrace: time.Hour}})
	if !listener.StartCheckPending(b.l) {
		t.Fatal("SubscribeAll on a stopped Listener scheduled no check")
	}
	if n := b.logs.Count(notRunningLine); n != 0 {
		t.Fatalf("warned before the grace period ended:\n%s", b.logs.String())
	}
	b.serve(t)
	expectResync(t, b.mb, 10*time.Second)
	if listener.StartCheckPending(b.l) {
		t.Fatal("Serve left the start check pending")
	}
	if n := b.logs.Count(notRunningLine); n != 0 {
		t.Fatalf("warned although the Listener started:\n%s", b.logs.String())
	}
}
