package listener_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// bundle is what setup returns.
type bundle struct {
	url  string // the database, for the test's own connections
	app  string // the Listener's application_name
	ps   *pubsub.PubSub
	l    *listener.Listener
	mb   *pubsub.Mailbox // subscribed to TopicAll before Serve
	logs *pgtest.LogBuffer
	stop func() error // cancels Serve and returns its error; idempotent
	errc chan error
}

type options struct {
	cfg      listener.Config // PubSub, Logger and ConnString are filled in when empty
	url      string          // default: a fresh database on pg
	capacity int
	noServe  bool
}

func setup(t *testing.T, o options) *bundle {
	t.Helper()
	b := &bundle{url: o.url, logs: &pgtest.LogBuffer{}}
	if b.url == "" {
		b.url = pgtest.NewDB(t, pg)
	}
	b.ps = pubsub.New(slog.New(slog.NewTextHandler(b.logs, nil)))
	cfg := o.cfg
	cfg.PubSub = b.ps
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b.app = fmt.Sprintf("pkdb-test-%d", appSeq.Add(1))
	if cfg.ConnString == "" && cfg.Connect == nil {
		cfg.ConnString = pgtest.WithApplicationName(b.url, b.app)
	}
	l, err := listener.New(cfg)
	if err != nil {
		t.Fatalf("listener.New: %v", err)
	}
	b.l = l
	capacity := o.capacity
	if capacity == 0 {
		capacity = 1024
	}
	b.mb = pubsub.NewMailbox(capacity)
	t.Cleanup(b.mb.Close)
	if err := l.SubscribeAll(b.mb); err != nil {
		t.Fatal(err)
	}
	if !o.noServe {
		b.serve(t)
	}
	return b
}

// serve starts Serve in a goroutine that stop waits for.
func (b *bundle) serve(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.errc = make(chan error, 1)
	go func() { b.errc <- b.l.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	b.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-b.errc:
			case <-time.After(10 * time.Second):
				serveErr = fmt.Errorf("Serve did not return within 10s")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := b.stop(); err != nil && err != context.Canceled {
			t.Errorf("Serve: %v", err)
		}
	})
}

var appSeq atomic.Int64

// next returns the next event of mb or fails after timeout.
func next(t *testing.T, mb *pubsub.Mailbox, timeout time.Duration) pubsub.Event {
	t.Helper()
	select {
	case ev, ok := <-mb.C():
		if !ok {
			t.Fatal("mailbox closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return pubsub.Event{}
}

// expectResync reads events until a Resync, failing on a change first.
func expectResync(t *testing.T, mb *pubsub.Mailbox, timeout time.Duration) pubsub.Event {
	t.Helper()
	ev := next(t, mb, timeout)
	if ev.Kind != pubsub.Resync {
		t.Fatalf("got %v, want a Resync", ev)
	}
	return ev
}

// expectChange reads the next event and checks it is the given change.
func expectChange(t *testing.T, mb *pubsub.Mailbox, payload string) {
	t.Helper()
	ev := next(t, mb, 10*time.Second)
	if ev.Kind != pubsub.TableChanged || ev.String() != payload {
		t.Fatalf("got %v, want change %s", ev, payload)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// notify sends payloads on channel in one transaction each.
func notify(t *testing.T, conn *pgx.Conn, channel string, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if _, err := conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", channel, p); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// backends returns the backends with application_name app on srv.
func backends(t *testing.T, srv *pgtest.Server, app string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pids, err := srv.Backends(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// theBackend waits until exactly one backend has application_name app
// (a terminated one can linger in pg_stat_activity for a moment after its
// successor connected) and returns its pid.
func theBackend(t *testing.T, srv *pgtest.Server, app string) int {
	t.Helper()
	var pids []int
	eventually(t, 10*time.Second, "exactly one backend named "+app, func() bool {
		pids = backends(t, srv, app)
		return len(pids) == 1
	})
	return pids[0]
}

// ownServer starts a private server for tests that stop or restart it.
func ownServer(t *testing.T) *pgtest.Server {
	t.Helper()
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// passwordRole creates a LOGIN role with password, which must
// authenticate with scram-sha-256 over TCP, and returns the server it is
// on: the package's, dropping the role when the test ends (an initdb and
// a start saved), or a private one when the package's is external and
// its pg_hba.conf out of reach.
func passwordRole(t *testing.T, role, password string) *pgtest.Server {
	t.Helper()
	srv := pgtest.Require(t, pg)
	if srv.DataDir() == "" {
		srv = ownServer(t)
	}
	admin := connect(t, srv.URL("postgres"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	if err := srv.PrependHBA(ctx, "host all "+role+" 127.0.0.1/32 scram-sha-256"); err != nil {
		t.Fatal(err)
	}
	return srv
}
