package listener_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Big transactions queue all their notifications at commit, and a probe
// sent around then is echoed only after every one of them: with a short
// ProbeInterval the echo comes long after its deadline while the
// notifications stream in. Traffic proves the connection alive, so
// repeated 300,000-notification bursts, with idle probing between them,
// cost no reconnect and lose nothing.
func TestProbeSurvivesBigBursts(t *testing.T) {
	const n, rounds = 300_000, 3
	// A probe every second, as in TestProbeSurvivesSlowFanOut: with 100 ms
	// a probe's reply may be late by only 12.5 ms before the connection is
	// presumed dead, which a loaded machine's scheduling alone overran
	// (a LISTEN read timed out mid-burst in a clean-clone make test).
	// Each 300,000-change burst still spans several probes.
	b := setup(t, options{capacity: n + 16, cfg: listener.Config{ProbeInterval: time.Second}})
	expectResync(t, b.mb, 10*time.Second)

	// A fast consumer counts the changes as they come.
	counts := make(chan int, 1)
	stop := make(chan struct{})
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		changes := 0
		for {
			select {
			case ev := <-b.mb.C():
				if ev.Kind != pubsub.TableChanged {
					t.Errorf("unexpected %v after %d changes", ev, changes)
				}
				changes++
				select {
				case <-counts:
				default:
				}
				counts <- changes
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-consumed }()
	delivered := 0
	waitFor := func(want int) {
		t.Helper()
		deadline := time.After(3 * time.Minute)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for delivered < want {
			select {
			case delivered = <-counts:
			case <-tick.C:
				// A reconnect loses what was unread: fail now, not at the deadline.
				if s := b.l.Stats(); s.Reconnects > 0 {
					t.Fatalf("reconnected during round; %d of %d changes delivered; stats %+v; log:\n%s", delivered, want, s, b.logs.String())
				}
			case <-deadline:
				t.Fatalf("%d of %d changes delivered; stats %+v", delivered, want, b.l.Stats())
			}
		}
	}

	sender := connect(t, b.url)
	for round := 1; round <= rounds; round++ {
		// Pause until the Listener probes its idle connection again, so
		// that probes are in flight when the next burst commits.
		probes := b.l.Stats().Probes
		eventually(t, 30*time.Second, "idle probes", func() bool { return b.l.Stats().Probes >= probes+3 })
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := sender.Exec(ctx, `SELECT pg_notify($1, 'public.big:INSERT:' || g) FROM generate_series(1, $2::int) g`,
			listener.DefaultChannel, n)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(round * n)
		t.Logf("round %d: stats %+v", round, b.l.Stats())
	}
	s := b.l.Stats()
	t.Logf("%d probes gave up waiting for the notification lock", b.logs.Count("probe gave up waiting"))
	if s.Reconnects != 0 || s.Resyncs != 1 {
		t.Errorf("Reconnects = %d, Resyncs = %d; want 0 and 1 (probes sent: %d)", s.Reconnects, s.Resyncs, s.Probes)
	}
	if s.Received != n*rounds || b.mb.Dropped() != 0 {
		t.Errorf("Received = %d, dropped %d; want %d and 0", s.Received, b.mb.Dropped(), n*rounds)
	}
}

// When fan-out is slower than the socket the reader waits for its
// dispatcher, for far longer than ProbeInterval at times; that time does
// not count against the connection. The counted mailbox still gets every
// change.
//
// The fan-out is held on purpose, not left to how fast the machine is
// (on a quiet one it kept up with the socket and the test proved
// nothing): in each round the dispatcher's delivery waits until the
// reader has stood blocked behind the full queue for longer than a probe
// may go unanswered (ProbeInterval and a last short read), with probes
// due meanwhile; then it runs.
//
// ProbeInterval is a second, not less: on a loaded machine the server or
// the reader can go unscheduled for a few hundred milliseconds, which a
// 100 ms interval took for a dead connection.
func TestProbeSurvivesSlowFanOut(t *testing.T) {
	t.Parallel()
	const n, rounds = 100_000, 2
	const probeInterval = time.Second
	const premise = probeInterval * 5 / 4
	b := setup(t, options{capacity: n + 16, noServe: true, cfg: listener.Config{ProbeInterval: probeInterval}})
	var (
		holding atomic.Bool
		release = make(chan struct{}, 1)
	)
	listener.HoldDelivery(b.l, func() {
		if holding.Load() {
			<-release
		}
	})
	// A second mailbox: with one, the reader would publish itself
	// (inline), with no dispatcher to wait for.
	other := pubsub.NewMailbox(16)
	t.Cleanup(other.Close)
	if err := b.l.SubscribeAll(other); err != nil {
		t.Fatal(err)
	}
	b.serve(t)
	expectResync(t, b.mb, 10*time.Second)
	blocked := watchBlocked(t, b.l)
	sender := connect(t, b.url)
	for round := 1; round <= rounds; round++ {
		probes := b.l.Stats().Probes
		eventually(t, 30*time.Second, "idle probes", func() bool { return b.l.Stats().Probes >= probes+3 })
		before := blocked()
		holding.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := sender.Exec(ctx, `SELECT pg_notify($1, 'public.big:INSERT:' || g) FROM generate_series(1, $2::int) g`,
			listener.DefaultChannel, n)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Minute, "the reader blocked past the premise", func() bool {
			if s := b.l.Stats(); s.Reconnects > 0 {
				t.Fatalf("reconnected in round %d while the fan-out was held; stats %+v; log:\n%s", round, s, b.logs.String())
			}
			return blocked() > max(before, premise)
		})
		holding.Store(false)
		release <- struct{}{}
		eventually(t, 3*time.Minute, "the round published", func() bool {
			if s := b.l.Stats(); s.Reconnects > 0 {
				t.Fatalf("reconnected in round %d; stats %+v; log:\n%s", round, s, b.logs.String())
			}
			return b.l.Stats().Published >= uint64(round*n)
		})
		// Len counts the events queued behind C's small buffer too.
		if got := b.mb.Len(); got != n || b.mb.Dropped() != 0 {
			t.Fatalf("round %d: counted mailbox holds %d changes, dropped %d; want %d", round, got, b.mb.Dropped(), n)
		}
		for range n {
			<-b.mb.C()
		}
	}
	if s := b.l.Stats(); s.Reconnects != 0 || s.Resyncs != 1 {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("the reader stood blocked on the dispatcher for up to %v", blocked())
}

// watchBlocked polls l's counters until the test ends and returns a
// function giving the longest time the reader stood blocked on the
// dispatcher as seen from outside: Received unchanged while at least
// MaxPending events it had handed over were not yet published.
func watchBlocked(t *testing.T, l *listener.Listener) (longest func() time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var most time.Duration
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var since time.Time
		var last uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				s := l.Stats()
				if s.Received != last || s.Received < s.Published+listener.MaxPending {
					last, since = s.Received, time.Time{}
					continue
				}
				if since.IsZero() {
					since = now
				}
				mu.Lock()
				most = max(most, now.Sub(since))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}
