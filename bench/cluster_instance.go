package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// appInstance is one app instance as a host runs it: its own supervisor,
// Registry and DB module (wrapped by a cluster module when cl is set), and
// one mailbox subscribed to every table, read by a consumer goroutine that
// records each change's arrival in the current round's arrivals.
type appInstance struct {
	db       *phoenixkitdb.DB
	cl       *cluster.Cluster // nil: a single instance without the cluster
	mb       *pubsub.Mailbox
	s        *sink
	cur      atomic.Pointer[arrivals]
	counting atomic.Pointer[rowCount] // set: count the rows, time only the last (bursts)
	resyncMu sync.Mutex
	resyncs  []string // reasons, for an error message
	cancel   context.CancelFunc
	done     <-chan error
	consumed chan struct{}
}

// benchLeaseTTL is the cluster's LeaseTTL in this section, instead of the
// default 1 s. On a shared 2-core machine under load (load average 5 to
// 10 on 2 cores) the default let a follower take the lease over in the
// middle of a measurement, a few times per run: the old leader's relay
// then drops what it holds (NOTIFY source: followers get a Resync) and
// the round fails. Section 8 measures the stream path, not failover,
// which the cluster package's tests check with the default.
const benchLeaseTTL = 5 * time.Second

// clusterSpec is how startApp wraps the DB module; nil runs it alone.
type clusterSpec struct {
	ns       *natsServer
	stream   string
	subject  string
	relayCap int
	// single sets cluster.Config.SingleChangeMessages: one stream message
	// per change instead of batches.
	single bool
}

// startApp starts one instance on dbURL. Its mailbox holds mbCap events,
// so that a whole burst fits even if the consumer falls behind. probe is
// its Listener's ProbeInterval (0: the default).
func startApp(dbURL string, mbCap int, cs *clusterSpec, probe time.Duration) (*appInstance, error) {
	logger := discard
	if debugDrain {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: dbURL, Logger: logger,
		Listener: listener.Config{ProbeInterval: probe}})
	if err != nil {
		return nil, err
	}
	var mod phoenixkitdb.Module = db
	var cl *cluster.Cluster
	if cs != nil {
		cl, err = cluster.New(cluster.Config{
			Stream: cs.stream, Subject: cs.subject, RelayCapacity: cs.relayCap, LeaseTTL: benchLeaseTTL, Logger: logger,
			URL: cs.ns.ClientURL(), SingleChangeMessages: cs.single,
		}, db)
		if err != nil {
			return nil, err
		}
		mod = cl
	}
	sup := suture.New("bench", suture.Spec{})
	reg := phoenixkitdb.NewRegistry(sup, logger)
	if err := reg.Register(mod); err != nil {
		return nil, err
	}
	if err := reg.Enable("db"); err != nil {
		return nil, err
	}
	a := &appInstance{db: db, cl: cl, mb: pubsub.NewMailbox(mbCap), s: newSink(), consumed: make(chan struct{})}
	a.cur.Store(&arrivals{s: a.s})
	if err := db.Changes().SubscribeAll(a.mb); err != nil {
		return nil, err
	}
	go a.consume()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, sup.ServeBackground(ctx)
	return a, nil
}

func (a *appInstance) consume() {
	defer close(a.consumed)
	for ev := range a.mb.C() {
		switch ev.Kind {
		case pubsub.TableChanged:
			if c := a.counting.Load(); c != nil {
				c.on(&ev)
			} else {
				a.cur.Load().on(&ev)
			}
		case pubsub.Resync:
			a.resyncMu.Lock()
			a.resyncs = append(a.resyncs, string(ev.Reason))
			a.resyncMu.Unlock()
		}
	}
}

// resyncReasons returns the Resyncs the instance got, for error messages:
// a Resync past the start means changes were dropped.
func (a *appInstance) resyncReasons() string {
	a.resyncMu.Lock()
	defer a.resyncMu.Unlock()
	return strings.Join(a.resyncs, ",")
}

// stop stops the supervisor, waits for everything it ran, then the
// consumer.
func (a *appInstance) stop() {
	a.cancel()
	<-a.done
	a.mb.Close()
	<-a.consumed
}

// arm makes the consumer record the rows base+1 .. base+k from now on.
// Call it only while none of them is in flight.
func (a *appInstance) arm(base int64, k int) *arrivals {
	r := &arrivals{base: base, at: make([]int64, k), s: a.s}
	a.s.expect(int64(k))
	a.counting.Store(nil)
	a.cur.Store(r)
	return r
}

// armCount makes the consumer count the rows base+1 .. base+k from now
// on, timing only the last (the sink does): a burst needs no time per
// row, and reading the clock for each of a million deliveries cost the
// bench's process a fifth of a drain's CPU here. Call it only while
// none of them is in flight.
func (a *appInstance) armCount(base int64, k int) {
	a.s.expect(int64(k))
	a.counting.Store(&rowCount{base: base, n: int64(k), s: a.s})
}

// rowCount counts a round's rows into a sink.
type rowCount struct {
	base, n int64
	s       *sink
}

func (c *rowCount) on(ev *pubsub.Event) {
	id, err := strconv.ParseInt(ev.RowID, 10, 64)
	if err == nil && id > c.base && id <= c.base+c.n {
		c.s.hit()
	}
}

// group is the instances of one measurement: one single instance, or N
// cluster instances on one database and one stream.
type group struct {
	name string
	ins  []*appInstance
}

// startGroup starts n instances (clustered when cs is set) and waits
// until each one's Changes is ready, which for a cluster means its
// follower consumes the stream and a leader's Listener listens. probe is
// their Listener's ProbeInterval (0: the default).
func startGroup(ctx context.Context, name, dbURL string, n, mbCap int, cs *clusterSpec, probe time.Duration) (*group, error) {
	g := &group{name: name}
	for range n {
		a, err := startApp(dbURL, mbCap, cs, probe)
		if err != nil {
			g.stop()
			return nil, err
		}
		g.ins = append(g.ins, a)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i, a := range g.ins {
		if err := a.db.WaitReady(wctx); err != nil {
			g.stop()
			return nil, fmt.Errorf("%s: instance %d: %w", name, i, err)
		}
	}
	return g, nil
}

// stop stops every instance, all at once: a cluster's followers would
// otherwise each wait out a failover as the leaders go one by one.
func (g *group) stop() {
	var wg sync.WaitGroup
	for _, a := range g.ins {
		wg.Go(a.stop)
	}
	wg.Wait()
}

// arm arms every instance for rows base+1 .. base+k.
func (g *group) arm(base int64, k int) []*arrivals {
	rs := make([]*arrivals, len(g.ins))
	for i, a := range g.ins {
		rs[i] = a.arm(base, k)
	}
	return rs
}

// armCount arms every instance to count rows base+1 .. base+k.
func (g *group) armCount(base int64, k int) {
	for _, a := range g.ins {
		a.armCount(base, k)
	}
}

// wait waits until every instance got every armed row and returns when
// the last one did.
func (g *group) wait(timeout time.Duration) (time.Time, error) {
	var last time.Time
	deadline := time.Now().Add(timeout)
	for i, a := range g.ins {
		t, err := a.s.wait(max(time.Until(deadline), time.Millisecond))
		if err != nil {
			return last, fmt.Errorf("%s: instance %d got %d of %d (Resyncs: %s; %s): %w", g.name, i,
				a.s.count.Load()-a.s.from.Load(), a.s.target.Load()-a.s.from.Load(), a.resyncReasons(), g.stats(), err)
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}

// leaders counts the group's leading instances.
func (g *group) leaders() int {
	n := 0
	for _, a := range g.ins {
		if a.cl != nil && a.cl.Leading() {
			n++
		}
	}
	return n
}

// stats describes the group's cluster counters, for error messages.
func (g *group) stats() string {
	var b strings.Builder
	for i, a := range g.ins {
		if a.cl == nil || (i > 1 && !a.cl.Leading()) {
			continue
		}
		st := a.cl.Stats()
		fmt.Fprintf(&b, "[%d leading=%v terms=%d published=%d position=%d received=%d resyncs=%d mailbox=%d dropped=%d] ",
			i, st.Leading, st.Terms, st.Published, st.Position, st.Received, st.Resyncs, a.mb.Len(), a.mb.Dropped())
	}
	return b.String()
}

// terms sums the leaderships the group's instances have held.
func (g *group) terms() uint64 {
	var n uint64
	for _, a := range g.ins {
		if a.cl != nil {
			n += a.cl.Stats().Terms
		}
	}
	return n
}
