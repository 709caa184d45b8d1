package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
)

// WaitReady waits for the Listener, not for a clock: it fails while
// Serve is not running and returns once changes flow; Ready follows the
// connection.
func TestWaitReady(t *testing.T) {
	b := setup(t, options{noServe: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := b.l.WaitReady(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady before Serve = %v, want DeadlineExceeded", err)
	}
	if st := b.l.Stats(); b.l.Ready() || st.Ready || st.State != listener.StateStopped {
		t.Fatalf("before Serve: Ready %v, Stats %+v; want not ready, stopped", b.l.Ready(), st)
	}

	b.serve(t)
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.l.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if st := b.l.Stats(); !st.Ready || st.State != listener.StateReady {
		t.Fatalf("Stats after WaitReady = %+v, want ready", st)
	}
	// Ready means a change sent now is delivered.
	expectResync(t, b.mb, 10*time.Second)
	notify(t, connect(t, b.url), "phoenix_kit_db_changes", "public.users:INSERT:1")
	expectChange(t, b.mb, "public.users:INSERT:1")

	if err := b.stop(); err != context.Canceled {
		t.Fatalf("Serve = %v", err)
	}
	if b.l.Ready() {
		t.Fatal("still ready after Serve returned")
	}
}

// A wrong password and a missing database are retried, escalate from WARN
// to ERROR with a hint after a few attempts, and show in Stats and in
// WaitReady's error, never with the password.
func TestConnectFailuresEscalate(t *testing.T) {
	t.Parallel() // a role of its own; mostly waits on failed connection attempts
	const role, password, wrong = "pkdb_esc", "Esc-Right-55aa", "Esc-Wrong-66bb"
	srv := passwordRole(t, role, password)
	for _, tc := range []struct {
		name, url, cause, hint string
	}{
		{"password", fmt.Sprintf("postgres://%s:%s@%s:%d/postgres?sslmode=disable", role, wrong, srv.Host(), srv.Port()),
			"password authentication failed", "authentication failed"},
		{"database", fmt.Sprintf("postgres://%s:%s@%s:%d/pkdb_no_such_db?sslmode=disable", role, password, srv.Host(), srv.Port()),
			"does not exist", "database does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, options{url: tc.url, cfg: fastRetry})
			eventually(t, 20*time.Second, "an ERROR line", func() bool { return b.logs.Count("level=ERROR") > 0 })
			logs := b.logs.String()
			if n := b.logs.Count("level=WARN msg=\"listener: connect failed\""); n < 2 {
				t.Errorf("%d WARN lines before the ERROR, want at least 2:\n%s", n, logs)
			}
			if !strings.Contains(logs, tc.hint) || !strings.Contains(logs, tc.cause) {
				t.Errorf("the ERROR lacks %q or %q:\n%s", tc.hint, tc.cause, logs)
			}
			st := b.l.Stats()
			if st.State != listener.StateConnecting {
				t.Errorf("State = %q, want %q", st.State, listener.StateConnecting)
			}
			if !strings.Contains(st.LastError, tc.cause) || st.LastErrorAt.IsZero() {
				t.Errorf("Stats().LastError = %q at %v, want %q", st.LastError, st.LastErrorAt, tc.cause)
			}
			wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			err := b.l.WaitReady(wctx)
			wcancel()
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tc.cause) {
				t.Errorf("WaitReady = %v, want DeadlineExceeded quoting %q", err, tc.cause)
			}
			for _, text := range []string{logs, st.LastError, err.Error()} {
				if strings.Contains(text, password) || strings.Contains(text, wrong) {
					t.Fatalf("a password is in %q", text)
				}
			}
		})
	}
}

// Stopping and starting Serve (a module disabled and enabled) is not a
// reconnect; a lost connection is.
func TestReconnectsCountOnlyLostConnections(t *testing.T) {
	b := setup(t, options{})
	expectResync(t, b.mb, 10*time.Second)
	if err := b.stop(); err != context.Canceled {
		t.Fatalf("Serve = %v", err)
	}
	b.serve(t)
	expectResync(t, b.mb, 10*time.Second)
	if n := b.l.Stats().Reconnects; n != 0 {
		t.Fatalf("Reconnects = %d after a stop and a start, want 0", n)
	}
	killListener(t, pg, b.app)
	expectResync(t, b.mb, 10*time.Second)
	if n := b.l.Stats().Reconnects; n != 1 {
		t.Fatalf("Reconnects = %d after a lost connection, want 1", n)
	}
}
