package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// afterFault checks the contract after any fault: a Resync, then later
// changes arrive, and the Listener is connected again.
func afterFault(t *testing.T, b *bundle, url string, id string) {
	t.Helper()
	expectResync(t, b.mb, 30*time.Second)
	conn := connect(t, url)
	notify(t, conn, listener.DefaultChannel, "public.t:INSERT:"+id)
	expectChange(t, b.mb, "public.t:INSERT:"+id)
	if !b.l.Connected() {
		t.Fatal("not connected after recovery")
	}
}

func TestRecoversFromTerminatedBackend(t *testing.T) {
	b := setup(t, options{})
	expectResync(t, b.mb, 10*time.Second)
	conn := connect(t, b.url)
	notify(t, conn, listener.DefaultChannel, "public.t:INSERT:before")
	expectChange(t, b.mb, "public.t:INSERT:before")

	for round := range 3 {
		pid := theBackend(t, pg, b.app)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := pg.TerminateBackend(ctx, pid); err != nil {
			t.Fatal(err)
		}
		cancel()
		afterFault(t, b, b.url, fmt.Sprint("after-", round))
	}
	if s := b.l.Stats(); s.Reconnects != 3 || s.Resyncs != 4 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestRecoversFromServerRestartAndOutage(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on reconnections
	srv := ownServer(t)
	url := srv.URL("postgres")
	b := setup(t, options{url: url, cfg: listener.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}})
	expectResync(t, b.mb, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, mode := range []string{"fast", "immediate"} {
		if err := srv.Restart(ctx, mode); err != nil {
			t.Fatal(err)
		}
		afterFault(t, b, url, "restart-"+mode)
	}

	// Down for a while: attempts are logged one line each, with the attempt
	// number and the next delay, then the Listener heals by itself.
	if err := srv.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	eventually(t, 20*time.Second, "several seconds of failed attempts", func() bool {
		return b.logs.Count("listener: connect failed") >= 3 && time.Since(down) > 3*time.Second
	})
	if !b.l.Running() || b.l.Connected() {
		t.Fatal("while the server is down the Listener must run, disconnected")
	}
	for _, line := range strings.Split(b.logs.String(), "\n") {
		if strings.Contains(line, "connect failed") && (!strings.Contains(line, "attempt=") || !strings.Contains(line, "retry_in=")) {
			t.Fatalf("connect failure logged without attempt and delay: %s", line)
		}
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	afterFault(t, b, url, "after-outage")
}

// A frozen network path (no RST, no FIN: the proxy keeps the socket open
// and moves no byte) is found by the probe and the connection replaced.
// TCP keepalive cannot see it: the proxy's own socket is healthy.
func TestDetectsFrozenConnection(t *testing.T) {
	url := pgtest.NewDB(t, pg)
	proxy, err := pgtest.NewProxy(fmt.Sprintf("%s:%d", pg.Host(), pg.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	var dials atomic.Int32
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		// The first connection goes through the proxy, later ones direct.
		target := url
		if dials.Add(1) == 1 {
			target = proxy.URL(url)
		}
		return pgx.Connect(ctx, target)
	}
	const probe = 300 * time.Millisecond
	b := setup(t, options{url: url, cfg: listener.Config{Connect: connect, ProbeInterval: probe}})
	expectResync(t, b.mb, 10*time.Second)
	notify(t, connectTest(t, url), listener.DefaultChannel, "public.t:INSERT:before")
	expectChange(t, b.mb, "public.t:INSERT:before")

	proxy.Freeze()
	start := time.Now()
	expectResync(t, b.mb, 20*probe)
	t.Logf("frozen connection replaced after %v (ProbeInterval %v)", time.Since(start), probe)
	if d := time.Since(start); d > 4*probe {
		t.Errorf("replaced after %v; the contract is about 2 x ProbeInterval (%v)", d, 2*probe)
	}
	if dials.Load() < 2 {
		t.Fatal("no new connection was made")
	}
	afterFaultNoResync(t, b, url, "after-freeze")
	proxy.Thaw()
}

func connectTest(t *testing.T, url string) *pgx.Conn { return connect(t, url) }

func afterFaultNoResync(t *testing.T, b *bundle, url, id string) {
	t.Helper()
	notify(t, connect(t, url), listener.DefaultChannel, "public.t:INSERT:"+id)
	expectChange(t, b.mb, "public.t:INSERT:"+id)
}

// A Listener whose Serve panics is restarted by suture; its subscribers
// stay subscribed and receive a Resync.
func TestSupervisedRestartAfterPanic(t *testing.T) {
	url := pgtest.NewDB(t, pg)
	var calls atomic.Int32
	const app = "pkdb-test-panic"
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		if calls.Add(1) == 2 {
			panic("injected panic in the Listener")
		}
		return pgx.Connect(ctx, pgtest.WithApplicationName(url, app))
	}
	b := setup(t, options{url: url, noServe: true, cfg: listener.Config{Connect: connect, MinBackoff: time.Millisecond}})
	sup := suture.New("test", suture.Spec{FailureBackoff: time.Millisecond, EventHook: func(suture.Event) {}})
	sup.Add(b.ps)
	sup.Add(b.l)
	ctx, cancel := context.WithCancel(context.Background())
	errc := sup.ServeBackground(ctx)
	defer func() {
		cancel()
		<-errc
	}()
	expectResync(t, b.mb, 10*time.Second)

	// Kill the connection: the reconnect (call 2) panics inside Serve.
	if err := pg.TerminateBackend(context.Background(), theBackend(t, pg, app)); err != nil {
		t.Fatal(err)
	}
	afterFault(t, b, url, "after-panic")
	if calls.Load() < 3 {
		t.Fatalf("Connect called %d times; the panic path was not taken", calls.Load())
	}
}

func TestConfigErrors(t *testing.T) {
	ps := pubsub.New(nil)
	cases := []struct {
		name string
		cfg  listener.Config
	}{
		{"nil pubsub", listener.Config{ConnString: "postgres://localhost/x"}},
		{"no connection", listener.Config{PubSub: ps}},
		{"bad conn string", listener.Config{PubSub: ps, ConnString: "postgres://user:hunter2-secret@[::1/db?sslmode=bogus"}},
		{"long channel", listener.Config{PubSub: ps, ConnString: "postgres://localhost/x", Channel: strings.Repeat("c", 64)}},
		{"NUL channel", listener.Config{PubSub: ps, ConnString: "postgres://localhost/x", Channel: "a\x00b"}},
		{"backoff", listener.Config{PubSub: ps, ConnString: "postgres://localhost/x", MinBackoff: time.Second, MaxBackoff: time.Millisecond}},
	}
	for _, c := range cases {
		l, err := listener.New(c.cfg)
		if !errors.Is(err, listener.ErrInvalidConfig) || l != nil {
			t.Errorf("%s: New = %v, %v; want ErrInvalidConfig", c.name, l, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error text contains the password: %v", c.name, err)
		}
	}
	if _, err := listener.New(listener.Config{PubSub: ps, ConnString: "postgres://localhost/x", Channel: strings.Repeat("c", 63)}); err != nil {
		t.Errorf("63-byte channel refused: %v", err)
	}
}

// An error that cannot heal ends Serve with suture.ErrDoNotRestart and an
// error log line.
func TestUnhealableConnectErrorStopsForGood(t *testing.T) {
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.Connect(ctx, "postgres://u:hunter2-secret@host:notaport/db")
	}
	b := setup(t, options{noServe: true, cfg: listener.Config{Connect: connect}})
	err := b.l.Serve(context.Background())
	if !errors.Is(err, suture.ErrDoNotRestart) {
		t.Fatalf("Serve = %v, want ErrDoNotRestart", err)
	}
	if !strings.Contains(b.logs.String(), "level=ERROR") {
		t.Fatal("no error logged")
	}
}

// Healable errors are retried forever, and the password never reaches a
// log line.
func TestHealableErrorsRetryAndPasswordsStayOutOfLogs(t *testing.T) {
	srv := pgtest.Require(t, pg)
	const password = "hunter2-secret"
	name := fmt.Sprintf("late_%d", time.Now().UnixNano())
	url := fmt.Sprintf("postgres://postgres:%s@%s:%d/%s?sslmode=disable", password, srv.Host(), srv.Port(), name)
	b := setup(t, options{url: url, cfg: listener.Config{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}})
	eventually(t, 10*time.Second, "failed attempts", func() bool { return b.logs.Count("connect failed") >= 3 })
	if b.l.Connected() || !b.l.Running() {
		t.Fatal("Listener should be running and disconnected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.DropDatabase(context.Background(), name) })
	expectResync(t, b.mb, 10*time.Second)
	if strings.Contains(b.logs.String(), password) {
		t.Fatalf("password in logs:\n%s", b.logs.String())
	}
	_ = b.stop() // before the database is dropped
}
