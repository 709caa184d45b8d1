package replication_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// failoverVersion is the first server_version_num with failover slots.
const failoverVersion = 170000

// failoverRig is a primary with a streaming physical standby, and a proxy
// that the Source and the test connect through, moved to the standby at
// the failover.
type failoverRig struct {
	primary, standby *pgtest.Server
	proxy            *pgtest.Proxy
	version          int    // server_version_num
	url              string // database postgres through the proxy
}

// newFailoverRig starts the primary (wal_level logical) and its standby.
// From 17 on the standby synchronises failover slots
// (sync_replication_slots, hot_standby_feedback, primary_slot_name and a
// dbname in primary_conninfo), and the primary holds logical walsenders
// back until the standby has the WAL (synchronized_standby_slots), set
// only after the copy so that the promoted standby does not wait for a
// standby of its own.
func newFailoverRig(t *testing.T) *failoverRig {
	t.Helper()
	primary := ownServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &failoverRig{primary: primary}
	var err error
	if r.version, err = primary.VersionNum(ctx); err != nil {
		t.Fatal(err)
	}
	var settings map[string]string
	if r.version >= failoverVersion {
		settings = map[string]string{"sync_replication_slots": "on"}
	}
	if r.standby, err = primary.StartStandby(ctx, pgtest.StandbyOptions{Settings: settings}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.standby.Close() })
	if r.version >= failoverVersion {
		withConn(t, primary.URL("postgres"), func(conn *pgx.Conn) {
			exec(t, conn, `ALTER SYSTEM SET synchronized_standby_slots = '`+pgtest.DefaultStandbySlot+`'`)
		})
		if err := primary.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r.proxy, err = pgtest.NewProxy(net.JoinHostPort(primary.Host(), strconv.Itoa(primary.Port()))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.proxy.Close() })
	r.url = r.proxy.URL(primary.URL("postgres"))
	return r
}

// failover stops the primary at once (an immediate shutdown: a crash),
// moves the proxy to the standby, cuts every connection through it and
// promotes the standby. Everything committed on the primary must have
// reached the standby before (waitReplayed).
func (r *failoverRig) failover(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.primary.StopContext(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	r.proxy.SetTarget(net.JoinHostPort(r.standby.Host(), strconv.Itoa(r.standby.Port())))
	r.proxy.CutAll()
	if err := r.standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitReplayed waits until the standby has replayed everything committed
// on the primary so far.
func (r *failoverRig) waitReplayed(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pgtest.WaitReplayed(ctx, r.primary, r.standby); err != nil {
		t.Fatal(err)
	}
}

// withConn runs fn on a connection to url that is closed afterwards.
func withConn(t *testing.T, url string, fn func(*pgx.Conn)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	fn(conn)
}

// On PostgreSQL 17 and later a failover slot survives the promotion of
// the standby it was synchronised to: changes committed on the old
// primary and replicated, some of them delivered before the failover and
// some not, are all delivered exactly once, in order, with no Resync, and
// the Source goes on with the new primary's changes.
func TestFailoverSlotSurvivesPromotion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if v, err := pgtest.Require(t, pg).VersionNum(ctx); err != nil {
		t.Fatal(err)
	} else if v < failoverVersion {
		t.Skipf("failover slots (CREATE_REPLICATION_SLOT ... FAILOVER, sync_replication_slots) do not exist before PostgreSQL 17; the server is %d", v)
	}
	r := newFailoverRig(t)
	b := setup(t, options{srv: r.primary, url: r.url, cfg: replication.Config{FailoverSlot: true, StatusInterval: 100 * time.Millisecond}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	c := &collector{t: t, next: 1}
	withConn(t, r.url, func(conn *pgx.Conn) { insert(t, conn, 1, 50, 5) })
	c.take(b.mb, 50, 30*time.Second)
	last := waitSynced(t, r, b, c, 50)

	// Committed and replicated, but never seen by the Source before the
	// failover: its path to the primary is frozen.
	r.proxy.Freeze()
	withConn(t, r.primary.URL("postgres"), func(conn *pgx.Conn) { insert(t, conn, last+1, last+50, 5) })
	r.waitReplayed(t)
	r.failover(t)
	r.proxy.Thaw()

	c.take(b.mb, last+50, 30*time.Second)
	waitReady(t, b.src)
	withConn(t, r.url, func(conn *pgx.Conn) { insert(t, conn, last+51, last+60, 5) })
	c.take(b.mb, last+60, 30*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Resyncs != 1 {
		t.Fatalf("%d Resyncs, want only the start's", st.Resyncs)
	}
	if n := b.logs.Count("the slot is gone"); n != 0 {
		t.Fatalf("the Source found its slot missing after the failover:\n%s", b.logs)
	}
}

// waitSynced waits until the standby holds a synchronised, persistent
// copy of the Source's slot, and returns the last id inserted. The
// standby's slot synchronisation worker (sync_replication_slots) makes
// the copy only once the slot's catalog xmin has passed the xmin the
// standby gave its copy, which takes a running-transactions record
// (pg_log_standby_snapshot writes one at once) followed by a position the
// Source confirms (every 100 ms here, after it handed a change over): so
// each round writes both, one row at a time, until the copy is there.
// The worker naps longer after each cycle that could not copy (up to
// 30 s), hence the rounds start at once.
func waitSynced(t *testing.T, r *failoverRig, b *bundle, c *collector, last int64) int64 {
	t.Helper()
	primary := connect(t, r.primary.URL("postgres"))
	standby := connect(t, r.standby.URL("postgres"))
	deadline := time.Now().Add(45 * time.Second)
	for {
		var ok bool
		if err := standby.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_replication_slots
	WHERE slot_name = $1 AND synced AND NOT temporary)`, b.cfg.Slot).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has no synchronised copy of slot %s; its log:\n%s", b.cfg.Slot, r.standby.LogTail(30))
		}
		exec(t, primary, `SELECT pg_log_standby_snapshot()`)
		last++
		insert(t, primary, last, last, 1)
		c.take(b.mb, last, 30*time.Second)
		time.Sleep(100 * time.Millisecond) // poll interval: about one status update of the Source
	}
}

// Without a failover slot (before PostgreSQL 17, or with FailoverSlot
// off) the promoted standby has no copy of the slot: what was committed
// and not yet delivered is gone, and the Source says so loudly, with an
// ERROR naming the likely failover (a new timeline) and a Resync
// (ReasonSlot) to every mailbox, never a silent gap; then it streams the
// new primary's changes. Before 17, FailoverSlot set gives a WARN and an
// ordinary slot.
func TestFailoverWithoutFailoverSlotResyncs(t *testing.T) {
	t.Parallel() // servers of its own; mostly waits on their starts, restarts and reconnections
	r := newFailoverRig(t)
	failover := r.version < failoverVersion // only warns there
	b := setup(t, options{srv: r.primary, url: r.url, cfg: replication.Config{FailoverSlot: failover}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	c := &collector{t: t, next: 1}
	withConn(t, r.url, func(conn *pgx.Conn) { insert(t, conn, 1, 20, 5) })
	c.take(b.mb, 20, 30*time.Second)

	r.proxy.Freeze()
	withConn(t, r.primary.URL("postgres"), func(conn *pgx.Conn) { insert(t, conn, 21, 40, 5) })
	r.waitReplayed(t)
	r.failover(t)
	r.proxy.Thaw()

	expectResync(t, b.mb, pubsub.ReasonSlot, 30*time.Second)
	waitReady(t, b.src)
	withConn(t, r.url, func(conn *pgx.Conn) { insert(t, conn, 41, 50, 5) })
	c.next = 41
	c.take(b.mb, 50, 30*time.Second)
	expectNothing(t, b.mb)
	if n := b.logs.Count(`level=ERROR msg="replication: the slot is gone`); n != 1 {
		t.Fatalf("%d ERROR lines about the missing slot, want 1:\n%s", n, b.logs)
	}
	if !slices.ContainsFunc(strings.Split(b.logs.String(), "\n"), func(line string) bool {
		return strings.Contains(line, `msg="replication: the slot is gone`) && strings.Contains(line, " timeline=2")
	}) {
		t.Fatalf("the ERROR does not name the new timeline:\n%s", b.logs)
	}
	if n := b.logs.Count("level=WARN msg=\"replication: FailoverSlot is set, but the server is older than PostgreSQL 17"); failover && n != 1 {
		t.Fatalf("%d WARN lines about FailoverSlot on PostgreSQL %d, want 1:\n%s", n, r.version, b.logs)
	}
}

// A failover slot must be persistent: New refuses FailoverSlot with
// Temporary.
func TestFailoverSlotNeedsPersistentSlot(t *testing.T) {
	_, err := replication.New(replication.Config{PubSub: pubsub.New(nil), ConnString: "postgres://x@127.0.0.1/db",
		Temporary: true, FailoverSlot: true})
	if !errors.Is(err, replication.ErrInvalidConfig) {
		t.Fatalf("got %v, want ErrInvalidConfig", err)
	}
}

// From PostgreSQL 17 on, FailoverSlot creates the slot with failover set,
// and turns an ordinary slot that exists already into a failover slot.
func TestFailoverSlotCreatedOrAltered(t *testing.T) {
	srv := pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if v, err := srv.VersionNum(ctx); err != nil {
		t.Fatal(err)
	} else if v < failoverVersion {
		t.Skipf("failover slots do not exist before PostgreSQL 17; the server is %d", v)
	}
	for _, existing := range []bool{false, true} {
		t.Run(map[bool]string{false: "created", true: "altered"}[existing], func(t *testing.T) {
			url := pgtest.NewDB(t, srv)
			slot := newSlotName()
			conn := connect(t, url)
			if existing {
				exec(t, conn, `SELECT pg_create_logical_replication_slot('`+slot+`', 'pgoutput')`)
			}
			b := setup(t, options{url: url, cfg: replication.Config{Slot: slot, FailoverSlot: true}})
			waitReady(t, b.src)
			var failover bool
			if err := conn.QueryRow(ctx, `SELECT failover FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&failover); err != nil {
				t.Fatal(err)
			}
			if !failover {
				t.Fatal("the slot is not a failover slot")
			}
			if n := b.logs.Count("made the slot a failover slot"); (n == 1) != existing {
				t.Fatalf("%d lines about making the slot a failover slot:\n%s", n, b.logs)
			}
		})
	}
}
