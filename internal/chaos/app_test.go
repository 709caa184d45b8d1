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

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// Listener settings: short enough that faults heal quickly in a soak.
const (
	probeInterval  = time.Second
	minBackoff     = 20 * time.Millisecond
	maxBackoff     = time.Second
	connectTimeout = 5 * time.Second
)

// changeSource is what the soak needs of a Listener or a WAL Source.
type changeSource interface {
	suture.Service
	String() string
	Subscribe(mb *pubsub.Mailbox, schema, table string) error
	Unsubscribe(mb *pubsub.Mailbox, schema, table string) error
	SubscribeAll(mb *pubsub.Mailbox) error
	UnsubscribeAll(mb *pubsub.Mailbox) error
	Running() bool
	Connected() bool
}

// app is one application instance: its own PubSub and change source (a
// Listener, or a WAL Source in the WAL soak) under its own suture
// supervisor, a TCP proxy in front of its source only, and its mailboxes.
type app struct {
	name    string // also the source's application_name
	slot    string // the WAL Source's slot
	dbURL   string
	ps      *pubsub.PubSub
	src     changeSource       // l or w
	l       *listener.Listener // the NOTIFY soak
	w       *replication.Source
	proxy   *pgtest.Proxy
	sup     *suture.Supervisor
	log     *slog.Logger
	readers []*consumer

	panicNext      atomic.Bool         // the next Connect (WAL: "connection lost" log line) panics
	panicListening atomic.Bool         // the next "listening" (WAL: "streaming") log line panics
	panics         atomic.Int64        // EventServicePanic seen for the source
	lToken         suture.ServiceToken // the source's place in sup
	slotErrors     atomic.Int64        // WAL: ERROR lines reporting a lost slot

	stop   context.CancelFunc
	supErr <-chan error
}

// mailboxSpec describes one consumer of an app.
type mailboxSpec struct {
	kind     string   // "fast", "slow", "churn" or "all"
	tables   []string // nil: TopicAll
	capacity int
	delay    time.Duration // per event read
}

// newApp builds app number i, connecting through a proxy to srv.
func newApp(i int, srv *pgtest.Server, dbURL string, clock *atomic.Int64, logs *ring, specs []mailboxSpec) (*app, error) {
	proxy, err := pgtest.NewProxy(fmt.Sprintf("%s:%d", srv.Host(), srv.Port()))
	if err != nil {
		return nil, err
	}
	a := &app{name: fmt.Sprintf("chaos-app-%d", i), dbURL: dbURL, proxy: proxy}
	a.log = slog.New(slog.NewTextHandler(logs, nil)).With("app", a.name)
	a.ps = pubsub.New(a.log)
	a.l, err = listener.New(listener.Config{
		Connect:       a.connect,
		PubSub:        a.ps,
		Logger:        slog.New(&trap{Handler: a.log.Handler(), armed: &a.panicListening}),
		ProbeInterval: probeInterval,
		MinBackoff:    minBackoff,
		MaxBackoff:    maxBackoff,
	})
	if err != nil {
		proxy.Close()
		return nil, err
	}
	a.src = a.l
	if err := a.supervise(clock, specs); err != nil {
		proxy.Close()
		return nil, err
	}
	return a, nil
}

// supervise builds a's supervisor around its PubSub and source, and its
// consumers, subscribed before anything runs.
func (a *app) supervise(clock *atomic.Int64, specs []mailboxSpec) error {
	a.sup = suture.New(a.name, suture.Spec{
		EventHook: a.event,
		// Injected panics must not push the supervisor into its 15 s
		// backoff: the soak counts restarts, not backoffs.
		FailureThreshold: 50,
		FailureBackoff:   time.Second,
		Timeout:          10 * time.Second,
	})
	a.sup.Add(a.ps)
	a.lToken = a.sup.Add(a.src)
	for _, s := range specs {
		c := newConsumer(a, s, clock)
		// Subscribed before Serve: everything committed from now on is owed.
		if err := c.subscribe(); err != nil {
			return err
		}
		a.readers = append(a.readers, c)
	}
	return nil
}

// connect is the Listener's Connect func: a fresh connection through this
// app's proxy, named after the app so its backend can be found. It panics
// once when panicNext is set, which is how the soak injects a panic into
// the Listener's Serve.
func (a *app) connect(ctx context.Context) (*pgx.Conn, error) {
	if a.panicNext.CompareAndSwap(true, false) {
		panic("chaos: injected panic in " + a.name + "'s Connect")
	}
	cfg, err := pgx.ParseConfig(a.proxy.URL(a.dbURL))
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = a.name
	cfg.ConnectTimeout = connectTimeout
	return pgx.ConnectConfig(ctx, cfg)
}

// trap is a log handler that panics once, when armed, on the Listener's
// "listening" line: a panic inside Serve while its connection is open.
type trap struct {
	slog.Handler
	armed *atomic.Bool
}

func (h *trap) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "listener: listening") && h.armed.CompareAndSwap(true, false) {
		panic("chaos: injected panic in the Listener's session, right after LISTEN")
	}
	return h.Handler.Handle(ctx, r)
}

func (h *trap) WithAttrs(as []slog.Attr) slog.Handler {
	return &trap{Handler: h.Handler.WithAttrs(as), armed: h.armed}
}

func (h *trap) WithGroup(name string) slog.Handler {
	return &trap{Handler: h.Handler.WithGroup(name), armed: h.armed}
}

// event is the supervisor's hook. It runs on the supervisor's goroutine:
// it only counts and logs.
func (a *app) event(e suture.Event) {
	if p, ok := e.(suture.EventServicePanic); ok && p.ServiceName == a.src.String() {
		a.panics.Add(1)
		a.log.Warn("chaos: supervisor recovered a panic", "service", p.ServiceName, "restarting", p.Restarting, "panic", p.PanicMsg)
		return
	}
	a.log.Warn("chaos: supervisor event", "event", e.String())
}

// start runs the supervisor and every consumer.
func (a *app) start() {
	for _, c := range a.readers {
		go c.Read()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.supErr = a.sup.ServeBackground(ctx)
}

// shutdown stops the supervisor (and so the Listener and PubSub), waits
// for it, then closes the mailboxes and waits for their readers.
func (a *app) shutdown() error {
	a.stop()
	var errs []error
	select {
	case err := <-a.supErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: supervisor: %w", a.name, err))
		}
	case <-time.After(30 * time.Second):
		errs = append(errs, fmt.Errorf("%s: supervisor did not stop within 30s", a.name))
	}
	if report, err := a.sup.UnstoppedServiceReport(); err != nil || len(report) > 0 {
		errs = append(errs, fmt.Errorf("%s: services not stopped: %v %v", a.name, report, err))
	}
	for _, c := range a.readers {
		c.MB.Close()
	}
	for _, c := range a.readers {
		select {
		case <-c.Done():
		case <-time.After(30 * time.Second):
			errs = append(errs, fmt.Errorf("%s: reader %s did not end", a.name, c.Name))
		}
	}
	// Closed mailboxes leave nothing behind in the PubSub, however often
	// they subscribed and unsubscribed.
	if st := a.ps.Stats(); st.Topics != 0 || st.Mailboxes != 0 {
		errs = append(errs, fmt.Errorf("%s: PubSub still holds %d topics and %d mailboxes", a.name, st.Topics, st.Mailboxes))
	}
	return errors.Join(errs...)
}

// layouts gives each app the four kinds of mailbox the issue asks for,
// on different tables and with different capacities. Every mailbox
// watches at least one row-trigger table, whose unique payloads anchor
// the ambiguous per-statement ones, and the fence reaches every mailbox.
func layouts(i int) []mailboxSpec {
	slow := [][]string{{tableA}, {tableB, tableS}, {tableA, tableB}}
	churn := [][]string{{tableB, tableS}, {tableA}, {tableA, tableS}}
	allCap := []int{1024, 256, 4096}
	return []mailboxSpec{
		{kind: "fast", tables: []string{tableA, tableB, tableS}, capacity: 1024},
		{kind: "slow", tables: slow[i%3], capacity: 16, delay: time.Millisecond},
		{kind: "churn", tables: churn[i%3], capacity: 4096},
		{kind: "all", capacity: allCap[i%3]},
	}
}
