//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// Settings short enough that faults heal quickly in a soak.
const (
	probeInterval = time.Second // the Listener's
	minBackoff    = 20 * time.Millisecond
	maxBackoff    = time.Second
	// maxAge is the stream's: far longer than any soak, so that no
	// follower is ever away long enough for a gap Resync.
	maxAge = time.Hour
	// walSlot is the replication slot every instance's leader uses.
	walSlot = "chaos_cluster"
)

// instance is one app instance: its own DB module wrapped by its own
// cluster module, in its own Registry under its own suture supervisor,
// reaching PostgreSQL and NATS through a TCP proxy each, and its
// mailboxes, subscribed through db.Changes() as host code does.
type instance struct {
	name      string // also its change source's application_name
	db        *phoenixkitdb.DB
	cl        *cluster.Cluster
	reg       *phoenixkitdb.Registry
	sup       *suture.Supervisor
	pgProxy   *pgtest.Proxy
	natsProxy *pgtest.Proxy
	log       *slog.Logger
	readers   []*consumer
	enabled   atomic.Bool

	stop   context.CancelFunc
	supErr <-chan error
}

// newInstance builds instance i of a soak; start runs it.
func newInstance(m soakMode, i int, srv *pgtest.Server, dbURL string, ns *natsServer, clock *atomic.Int64, logs *ring) (*instance, error) {
	pgProxy, err := pgtest.NewProxy(fmt.Sprintf("%s:%d", srv.Host(), srv.Port()))
	if err != nil {
		return nil, err
	}
	natsProxy, err := pgtest.NewProxy(ns.Addr())
	if err != nil {
		pgProxy.Close()
		return nil, err
	}
	in := &instance{name: fmt.Sprintf("%s-%d", m.name, i), pgProxy: pgProxy, natsProxy: natsProxy}
	level := slog.LevelInfo
	if *logFlag != "" {
		level = slog.LevelDebug
	}
	in.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level})).With("app", in.name)
	cfg := phoenixkitdb.Config{
		ConnString: pgtest.WithApplicationName(pgProxy.URL(dbURL), in.name),
		Logger:     in.log,
		Listener:   listener.Config{MinBackoff: minBackoff, MaxBackoff: maxBackoff, ProbeInterval: probeInterval},
		WAL:        replication.Config{MinBackoff: minBackoff, MaxBackoff: maxBackoff, Slot: walSlot, Publication: walPublication},
	}
	if m.wal {
		cfg.Source = phoenixkitdb.SourceWAL
	}
	if in.db, err = phoenixkitdb.New(cfg); err != nil {
		in.closeProxies()
		return nil, err
	}
	in.cl, err = cluster.New(cluster.Config{
		URL:    "nats://" + natsProxy.Addr(),
		Stream: "CHAOS", Subject: "chaos", MaxAge: maxAge, Logger: in.log,
		NATSOptions: []nats.Option{
			nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectJitter(0, 0),
			// A frozen path is found by the pings, not only by requests
			// that time out.
			nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2),
			nats.Timeout(time.Second), nats.NoCallbacksAfterClientClose(),
		},
	}, in.db)
	if err != nil {
		in.closeProxies()
		return nil, err
	}
	in.sup = suture.New(in.name, suture.Spec{
		EventHook:        func(e suture.Event) { in.log.Warn("chaos: supervisor event", "event", e.String()) },
		FailureThreshold: 50,
		FailureBackoff:   time.Second,
		Timeout:          10 * time.Second,
	})
	in.reg = phoenixkitdb.NewRegistry(in.sup, in.log)
	if err := in.reg.Register(in.cl); err != nil {
		in.closeProxies()
		return nil, err
	}
	for _, s := range layouts(i) {
		c := newConsumer(in, s, clock, m.wal)
		// Subscribed before anything runs: everything committed from now
		// on is owed.
		if err := c.subscribe(); err != nil {
			in.closeProxies()
			return nil, err
		}
		in.readers = append(in.readers, c)
	}
	return in, nil
}

// start runs the supervisor, enables the module and starts the readers.
func (in *instance) start() error {
	for _, c := range in.readers {
		go c.Read()
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	in.supErr = in.sup.ServeBackground(ctx)
	return in.enable()
}

func (in *instance) enable() error {
	if err := in.reg.Enable("db"); err != nil {
		return err
	}
	in.enabled.Store(true)
	return nil
}

func (in *instance) disable() error {
	in.enabled.Store(false)
	return in.reg.Disable("db")
}

// reading reports whether this instance's change source holds a
// connection to PostgreSQL.
func (in *instance) reading() bool { return in.cl.Source().Connected() }

// sourceResyncs returns the Resyncs this instance's change source sent
// (LISTENs established, or the WAL source's start and lost slots).
func (in *instance) sourceResyncs() uint64 {
	switch s := in.cl.Source().(type) {
	case *listener.Listener:
		return s.Stats().Resyncs
	case *replication.Source:
		return s.Stats().Resyncs
	}
	return 0
}

// shutdown stops the supervisor (and so the module), waits for it, then
// closes the mailboxes and waits for their readers.
func (in *instance) shutdown() error {
	in.stop()
	var errs []error
	select {
	case err := <-in.supErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: supervisor: %w", in.name, err))
		}
	case <-time.After(30 * time.Second):
		errs = append(errs, fmt.Errorf("%s: supervisor did not stop within 30s", in.name))
	}
	if report, err := in.sup.UnstoppedServiceReport(); err != nil || len(report) > 0 {
		errs = append(errs, fmt.Errorf("%s: services not stopped: %v %v", in.name, report, err))
	}
	for _, c := range in.readers {
		c.MB.Close()
	}
	for _, c := range in.readers {
		select {
		case <-c.Done():
		case <-time.After(30 * time.Second):
			errs = append(errs, fmt.Errorf("%s: reader %s did not end", in.name, c.Name))
		}
	}
	return errors.Join(errs...)
}

func (in *instance) closeProxies() {
	in.pgProxy.Close()
	in.natsProxy.Close()
}

// thaw undoes any fault left on the instance's paths.
func (in *instance) thaw() {
	in.pgProxy.Thaw()
	in.natsProxy.Thaw()
}

// leader returns the instance that leads, waiting up to timeout for one.
func leader(ins []*instance, timeout time.Duration) *instance {
	var l *instance
	chaos.WaitFor(timeout, func() bool {
		for _, in := range ins {
			if in.cl.Leading() {
				l = in
				return true
			}
		}
		return false
	})
	return l
}

// readers counts the instances whose change source is connected.
func readers(ins []*instance) int {
	n := 0
	for _, in := range ins {
		if in.reading() {
			n++
		}
	}
	return n
}

func state(ins []*instance) string {
	var parts []string
	for _, in := range ins {
		f := in.db.Changes()
		parts = append(parts, fmt.Sprintf("%s enabled=%v leading=%v reading=%v follower_connected=%v ready=%v position=%d",
			in.name, in.enabled.Load(), in.cl.Leading(), in.reading(), f.Connected(), f.Ready(), in.cl.Stats().Position))
	}
	return strings.Join(parts, "; ")
}

// mailboxSpec describes one consumer of an instance.
type mailboxSpec struct {
	kind     string   // "fast", "slow" or "all"
	tables   []string // nil: every table
	capacity int
	delay    time.Duration // per event read
}

// layouts gives each instance three kinds of mailbox on different tables
// and with different capacities; each watches chaos_a or chaos_b, whose
// fence changes every mailbox must read.
func layouts(i int) []mailboxSpec {
	slow := [][]string{{tableA}, {tableB, tableS}, {tableA, tableB}}
	allCap := []int{1024, 256, 4096}
	return []mailboxSpec{
		{kind: "fast", tables: []string{tableA, tableB, tableS}, capacity: 1024},
		{kind: "slow", tables: slow[i%3], capacity: 16, delay: time.Millisecond},
		{kind: "all", capacity: allCap[i%3]},
	}
}
