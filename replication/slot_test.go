package replication_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Writes to tables outside the publication must not make the slot retain
// WAL: between transactions the Source confirms the server's position.
func TestIdleSlotConfirmsOnKeepalives(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{StatusInterval: 100 * time.Millisecond, Timeout: 900 * time.Millisecond}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	exec(t, conn, `INSERT INTO other SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`)
	var end pglogrepl.LSN
	if err := conn.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()").Scan(&end); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "confirmed_flush_lsn past the unpublished writes", func() bool {
		var confirmed pglogrepl.LSN
		if err := conn.QueryRow(context.Background(),
			"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", b.cfg.Slot).Scan(&confirmed); err != nil {
			t.Fatal(err)
		}
		return confirmed >= end
	})
	if st := b.src.Stats(); st.ConfirmedLSN < pubsub.LSN(end) || st.Published != 0 {
		t.Fatalf("stats: %+v", st)
	}
	eventually(t, 10*time.Second, "LagBytes small", func() bool { return b.src.Stats().LagBytes < 1<<20 })
}

func TestDroppedSlotResyncsAndRecreates(t *testing.T) {
	b := setup(t, options{})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	c := &collector{t: t, next: 1}
	insert(t, conn, 1, 5, 1)
	c.take(b.mb, 5, 30*time.Second)
	// The Source reconnects at once: terminate and drop until the drop
	// wins the race.
	eventually(t, 30*time.Second, "the slot dropped", func() bool {
		_, _ = conn.Exec(context.Background(),
			"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", b.cfg.Slot)
		_, err := conn.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", b.cfg.Slot)
		return err == nil
	})
	expectResync(t, b.mb, pubsub.ReasonSlot, 30*time.Second)
	if n := b.logs.Count("level=ERROR msg=\"replication: the slot is gone"); n != 1 {
		t.Fatalf("%d ERROR lines about the lost slot:\n%s", n, b.logs)
	}
	eventually(t, 30*time.Second, "the slot recreated and streaming", func() bool {
		pid, _, ok := slotInfo(t, conn, b.cfg.Slot)
		return ok && pid != 0
	})
	insert(t, conn, 6, 10, 1)
	c.next = 6
	c.take(b.mb, 10, 30*time.Second)
	if st := b.src.Stats(); st.Resyncs != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

// A second Source on the slot (an app's standby process) waits, backing
// off between its tries (it tried every 200 ms, five replication
// connections a second for as long as the first one ran), and takes over
// within DefaultSlotRetryMax of the first one stopping.
func TestSecondSourceTakesOver(t *testing.T) {
	a := setup(t, options{})
	waitReady(t, a.src)
	expectResync(t, a.mb, pubsub.ReasonStart, 10*time.Second)
	proxy, err := pgtest.NewProxy(a.srv.Host() + ":" + itoa(a.srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	b := setup(t, options{url: a.url, noSchema: true, cfg: replication.Config{Slot: a.cfg.Slot, ConnString: proxy.URL(a.url)}})
	eventually(t, 10*time.Second, "the standby waiting", func() bool {
		return b.logs.Count("in use by another reader") == 1
	})
	if b.src.Connected() || b.src.Ready() {
		t.Fatal("the standby streams while the first Source holds the slot")
	}
	conn := connect(t, a.url)
	c := &collector{t: t, next: 1}
	insert(t, conn, 1, 5, 1)
	c.take(a.mb, 5, 30*time.Second)
	// Count the standby's tries for a while (a measurement, not a wait
	// for something): 200 ms, 400 ms, 800 ms, then 1 to 2 s apart.
	const window = 6 * time.Second
	before := proxy.Accepted()
	time.Sleep(window)
	tries := proxy.Accepted() - before
	t.Logf("the standby tried %d times in %v", tries, window)
	if tries < 2 || tries > 8 {
		t.Errorf("the standby tried %d times in %v; want 2 to 8 (retrying every 200 ms made 14 or more)", tries, window)
	}
	if n := b.logs.Count("in use by another reader"); n != 1 || !strings.Contains(b.logs.String(), "holder_pid=") {
		t.Fatalf("%d INFO lines:\n%s", n, b.logs)
	}
	if err := a.stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	stopped := time.Now()
	insert(t, conn, 6, 10, 1)
	eventually(t, 10*time.Second, "the standby streaming", b.src.Connected)
	if d := time.Since(stopped); d > replication.DefaultSlotRetryMax+time.Second {
		t.Errorf("took over after %v", d)
	}
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	c.next = 6 // the first Source confirmed 1..5 when it stopped
	c.take(b.mb, 10, 30*time.Second)
	expectNothing(t, b.mb)
}

func TestTemporarySlotResyncsOnEveryConnection(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{Temporary: true}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	terminateWalsender(t, conn, b.cfg.Slot)
	expectResync(t, b.mb, pubsub.ReasonReconnect, 30*time.Second)
	insert(t, conn, 1, 3, 1)
	c := &collector{t: t, next: 1}
	c.take(b.mb, 3, 30*time.Second)
}
