package replication_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// terminateWalsender ends the backend streaming from slot and returns
// its pid, waiting for the slot to be active first.
func terminateWalsender(t *testing.T, conn *pgx.Conn, slot string) int {
	t.Helper()
	return terminateNextWalsender(t, conn, slot, 0)
}

// terminateNextWalsender is terminateWalsender for a walsender other than
// prev: a terminated walsender holds the slot until it has exited, and
// terminating it twice would not make the Source reconnect twice.
func terminateNextWalsender(t *testing.T, conn *pgx.Conn, slot string, prev int) int {
	t.Helper()
	var pid int
	eventually(t, 20*time.Second, "an active walsender", func() bool {
		pid, _, _ = slotInfo(t, conn, slot)
		return pid != 0 && pid != prev
	})
	exec(t, conn, "SELECT pg_terminate_backend("+itoa(pid)+")")
	return pid
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

func TestExactlyOnceAcrossWalsenderTerminated(t *testing.T) {
	b := setup(t, options{cfg: replication.Config{StatusInterval: 100 * time.Millisecond}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	writer := connect(t, b.url)
	admin := connect(t, b.url)
	c := &collector{t: t, next: 1}
	pid := 0
	for round := int64(0); round < 5; round++ {
		lo := round*2000 + 1
		insert(t, writer, lo, lo+1999, 400)
		// Terminate only a walsender the Source streams from: one ended
		// while the Source was still setting it up (after START_REPLICATION
		// made the slot active, before streaming began) is retried without
		// counting as a reconnect, and the premise below would not hold.
		eventually(t, 30*time.Second, "the Source streaming again", func() bool {
			return b.src.Stats().Reconnects >= uint64(round)
		})
		pid = terminateNextWalsender(t, admin, b.cfg.Slot, pid)
		c.take(b.mb, lo+999, 30*time.Second)
	}
	insert(t, writer, 10001, 10010, 1)
	c.take(b.mb, 10010, 30*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Reconnects < 5 || st.Resyncs != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

// A transaction cut off in its middle comes again whole on the next
// connection; the events handed over before are skipped.
func TestPartialTransactionReplayed(t *testing.T) {
	b := setup(t, options{capacity: 1 << 17})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	writer := connect(t, b.url)
	admin := connect(t, b.url)
	const rows = 60000
	insert(t, writer, 1, rows, rows)
	eventually(t, 60*time.Second, "part of the transaction published", func() bool {
		return b.src.Stats().Published > 0
	})
	terminateWalsender(t, admin, b.cfg.Slot)
	cut := b.src.Stats().Published
	c := &collector{t: t, next: 1}
	c.take(b.mb, rows, 120*time.Second)
	expectNothing(t, b.mb)
	st := b.src.Stats()
	if cut >= rows {
		t.Skipf("the transaction was published whole (%d) before the walsender ended", cut)
	}
	if st.Reconnects < 1 || st.Published != rows || st.Received <= rows {
		t.Fatalf("cut at %d; stats: %+v", cut, st)
	}
}

func TestExactlyOnceAcrossServerRestarts(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on their starts, restarts and reconnections
	srv := ownServer(t)
	b := setup(t, options{srv: srv, url: srv.URL("postgres")})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	c := &collector{t: t, next: 1}
	id := int64(1)
	for _, mode := range []string{"fast", "immediate", "immediate"} {
		writer := connect(t, b.url)
		exec(t, writer, "SET synchronous_commit = on")
		insert(t, writer, id, id+299, 100)
		c.take(b.mb, id+299, 30*time.Second)
		id += 300
		writer.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := srv.Restart(ctx, mode); err != nil {
			cancel()
			t.Fatal(err)
		}
		cancel()
	}
	writer := connect(t, b.url)
	insert(t, writer, id, id+9, 1)
	c.take(b.mb, id+9, 60*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Reconnects < 3 || st.Resyncs != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestFrozenPathReplaced(t *testing.T) {
	srv := pgtest.Require(t, pg)
	url := pgtest.NewDB(t, srv)
	proxy, err := pgtest.NewProxy(srv.Host() + ":" + itoa(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	b := setup(t, options{url: url, cfg: replication.Config{ConnString: proxy.URL(url), Timeout: 1500 * time.Millisecond}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	writer := connect(t, url) // directly, not through the proxy
	c := &collector{t: t, next: 1}
	insert(t, writer, 1, 10, 1)
	c.take(b.mb, 10, 30*time.Second)

	proxy.Freeze()
	frozen := time.Now()
	insert(t, writer, 11, 20, 1)
	eventually(t, 20*time.Second, "the frozen connection given up", func() bool { return !b.src.Connected() })
	if d := time.Since(frozen); d > 10*time.Second {
		t.Errorf("found the frozen path after %v", d)
	}
	// The error is recorded just after the connection is marked lost.
	eventually(t, 10*time.Second, "a last error that says the connection went silent", func() bool {
		return strings.Contains(b.src.Stats().LastError, "silent")
	})
	proxy.Thaw()
	c.take(b.mb, 20, 60*time.Second)
	insert(t, writer, 21, 25, 1)
	c.take(b.mb, 25, 30*time.Second)
	expectNothing(t, b.mb)
}

// ownServer starts a private logical server for tests that restart it.
func ownServer(t *testing.T) *pgtest.Server {
	t.Helper()
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: logicalSettings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
