package replication_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

func TestSecondServeRefused(t *testing.T) {
	b := setup(t, options{})
	waitReady(t, b.src)
	err := b.src.Serve(context.Background())
	if !errors.Is(err, replication.ErrAlreadyRunning) || !errors.Is(err, suture.ErrDoNotRestart) {
		t.Fatalf("second Serve: %v", err)
	}
	if err := b.stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if st := b.src.Stats(); st.Running || st.Connected || st.Ready {
		t.Fatalf("after Serve returned: %+v", st)
	}
}

func TestWaitReadyQuotesLastError(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{Publication: "missing_pub", MaxBackoff: 100 * time.Millisecond}})
	eventually(t, 30*time.Second, "an error recorded", func() bool { return b.src.Stats().LastError != "" })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := b.src.WaitReady(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "publication does not exist") {
		t.Fatalf("WaitReady: %v", err)
	}
}

func TestEnsureStartedWarns(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: replication.Config{StartGrace: 10 * time.Millisecond}})
	mb := pubsub.NewMailbox(1)
	defer mb.Close()
	if err := b.src.Subscribe(mb, "public", "items"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the not-running warning", func() bool {
		return b.logs.Count("level=WARN msg=\"replication: not running") == 1
	})
}

func TestLagWarning(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{LagWarnBytes: 1, StatusInterval: time.Hour}})
	waitReady(t, b.src)
	conn := connect(t, b.url)
	exec(t, conn, `INSERT INTO other SELECT g, 'x' FROM generate_series(1, 1000) g`, `INSERT INTO items (id) VALUES (1)`)
	eventually(t, 30*time.Second, "the lag warning", func() bool {
		return b.logs.Count("level=WARN msg=\"replication: the slot retains much WAL") == 1
	})
	if b.src.Stats().LagBytes <= 0 {
		t.Fatalf("stats: %+v", b.src.Stats())
	}
}
