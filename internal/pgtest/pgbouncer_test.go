package pgtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// Through a session-mode PgBouncer a LISTENing client hears another
// client's NOTIFY; through a transaction-mode one it does not, because
// its server connection is lent to others between transactions. This is
// the difference the Listener's cross-session probe detects.
func TestPgBouncerPoolModes(t *testing.T) {
	s := pgtest.Require(t, srv)
	dbURL := pgtest.NewDB(t, s)
	for _, c := range []struct {
		mode  string
		heard bool
	}{{pgtest.PoolSession, true}, {pgtest.PoolTransaction, false}} {
		t.Run(c.mode, func(t *testing.T) {
			b := pgtest.RequirePgBouncer(t, s, c.mode)
			url := b.Via(dbURL)
			listener, sender := connect(t, url), connect(t, url)
			if got := queryInt(t, listener, "SELECT 1"); got != 1 {
				t.Fatalf("SELECT 1 = %d", got)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if _, err := listener.Exec(ctx, "LISTEN pgbouncer_test"); err != nil {
				t.Fatal(err)
			}
			if _, err := sender.Exec(ctx, "NOTIFY pgbouncer_test, 'hello'"); err != nil {
				t.Fatal(err)
			}
			// Absence can only be shown by waiting: one second is ages for
			// a notification on loopback.
			wctx, wcancel := context.WithTimeout(ctx, time.Second)
			defer wcancel()
			n, err := listener.WaitForNotification(wctx)
			switch {
			case c.heard && err != nil:
				t.Fatalf("session mode: no notification: %v", err)
			case c.heard && n.Payload != "hello":
				t.Fatalf("payload %q", n.Payload)
			case !c.heard && err == nil:
				t.Fatalf("transaction mode delivered %+v", n)
			case !c.heard && !errors.Is(err, context.DeadlineExceeded):
				t.Logf("transaction mode: %v", err)
			}
		})
	}
}

func TestPgBouncerRefusesBadMode(t *testing.T) {
	s := pgtest.Require(t, srv)
	if _, err := pgtest.StartPgBouncer(context.Background(), s, "statement-ish"); err == nil {
		t.Fatal("StartPgBouncer accepted an unknown pool mode")
	}
}
