package listener_test

import (
	"context"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
)

// After a connection that was healthy for HealthyAfter the first
// reconnection attempt is immediate; a connection that dies young backs
// off instead.
//
// The Listener reads a clock the test moves on: a connection ages by an
// hour when the test says so, and by the real seconds a loaded machine
// takes otherwise, so "young" and "healthy" never depend on how long
// finding and terminating a backend takes.
func TestBackoffResetsAfterAHealthyPeriod(t *testing.T) {
	const healthy = time.Hour
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	b := setup(t, options{cfg: listener.Config{HealthyAfter: healthy, MinBackoff: 200 * time.Millisecond, Now: now}})
	expectResync(t, b.mb, 10*time.Second)
	kill := func() {
		t.Helper()
		pid := theBackend(t, pg, b.app)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pg.TerminateBackend(ctx, pid); err != nil {
			t.Fatal(err)
		}
	}
	lost := regexp.MustCompile(`connection lost; reconnecting.* retry_in=(\S+)`)
	delays := func() []string {
		var out []string
		for _, m := range lost.FindAllStringSubmatch(b.logs.String(), -1) {
			out = append(out, m[1])
		}
		return out
	}

	// Healthy for longer than HealthyAfter: reconnect at once. The
	// session's start was read before its Resync, which the test saw.
	offset.Add(int64(healthy + time.Minute))
	kill()
	expectResync(t, b.mb, 10*time.Second)
	// Killed again while young (seconds old on the moved clock): back off.
	kill()
	expectResync(t, b.mb, 10*time.Second)

	got := delays()
	if len(got) != 2 {
		t.Fatalf("reconnect log lines %v, want 2", got)
	}
	if got[0] != "0s" {
		t.Errorf("after a healthy connection the delay was %s, want 0s", got[0])
	}
	if d, err := time.ParseDuration(got[1]); err != nil || d < 100*time.Millisecond {
		t.Errorf("after a young connection the delay was %s, want at least MinBackoff/2", got[1])
	}
}
