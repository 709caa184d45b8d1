package listener_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/listener"
)

// After a connection that was healthy for HealthyAfter the first
// reconnection attempt is immediate; a connection that dies young backs
// off instead.
func TestBackoffResetsAfterAHealthyPeriod(t *testing.T) {
	// Long enough that the second, "young" connection is still young
	// when it is killed, on a loaded machine too (finding its backend and
	// terminating it takes a few hundred milliseconds there).
	const healthy = 2 * time.Second
	b := setup(t, options{cfg: listener.Config{HealthyAfter: healthy, MinBackoff: 200 * time.Millisecond}})
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

	// Healthy for longer than HealthyAfter: reconnect at once.
	time.Sleep(healthy + healthy/4) // the connection must age; this is the condition under test, not synchronisation
	kill()
	expectResync(t, b.mb, 10*time.Second)
	// Killed again while young: back off.
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
