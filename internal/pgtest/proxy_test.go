package pgtest_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// newProxy returns a proxy in front of a fresh database and that database's
// URL through the proxy; the proxy is closed by t.Cleanup.
func newProxy(t *testing.T) (*pgtest.Proxy, string) {
	t.Helper()
	s := pgtest.Require(t, srv)
	dbURL := pgtest.NewDB(t, s)
	p, err := pgtest.NewProxy(net.JoinHostPort(s.Host(), strconv.Itoa(s.Port())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p, p.URL(dbURL)
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	p, url := newProxy(t)
	if host, _, _ := net.SplitHostPort(p.Addr()); host != "127.0.0.1" {
		t.Fatalf("Addr = %q", p.Addr())
	}
	conn := connect(t, url)
	if n := queryInt(t, conn, "SELECT 40 + 2"); n != 42 {
		t.Fatalf("got %d through the proxy", n)
	}
	if p.Conns() != 1 {
		t.Fatalf("Conns = %d, want 1", p.Conns())
	}
}

func TestProxyFreezeThaw(t *testing.T) {
	t.Parallel()
	p, url := newProxy(t)
	conn := connect(t, url)
	queryInt(t, conn, "SELECT 1")

	p.Freeze()
	p.Freeze() // idempotent
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := conn.Exec(ctx, "SELECT 1")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		t.Fatalf("query through a frozen proxy = %v, want a deadline error", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	c, err := pgx.Connect(ctx, url)
	cancel()
	if err == nil {
		waitClosed(t, c)
		t.Fatal("connected through a frozen proxy")
	}

	p.Thaw()
	p.Thaw() // idempotent
	if n := queryInt(t, connect(t, url), "SELECT 7"); n != 7 {
		t.Fatalf("got %d after Thaw", n)
	}
	// The interrupted connection's cleanup (a cancel request and a Terminate)
	// flows once thawed.
	waitClosed(t, conn)
}

func TestProxyCutAll(t *testing.T) {
	t.Parallel()
	p, url := newProxy(t)
	conn := connect(t, url)
	queryInt(t, conn, "SELECT 1")

	p.CutAll()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("query succeeded on a cut connection")
	}
	waitClosed(t, conn)
	eventually(t, 10*time.Second, "Conns() == 0 after CutAll", func() bool { return p.Conns() == 0 })
	if n := queryInt(t, connect(t, url), "SELECT 3"); n != 3 {
		t.Fatalf("got %d after CutAll", n)
	}
}

func TestProxyCloseReleasesFrozen(t *testing.T) {
	t.Parallel()
	p, url := newProxy(t)
	conn := connect(t, url)
	queryInt(t, conn, "SELECT 1")

	p.Freeze()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := conn.Exec(ctx, "SELECT 1")
		done <- err
	}()
	eventually(t, 5*time.Second, "proxy connection to exist", func() bool { return p.Conns() == 1 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("query succeeded through a closed frozen proxy")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not release the frozen connection")
	}
	if p.Conns() != 0 {
		t.Fatalf("Conns = %d after Close", p.Conns())
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("proxy still accepts after Close")
	}
}
