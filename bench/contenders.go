package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
	"github.com/lib/pq"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Contender names, in report order.
const (
	nameBare      = "bare pgx"
	nameListener  = "Listener"
	namePgxlisten = "pgxlisten"
	namePq        = "lib/pq"
)

// notifyChannel is the channel every contender listens on. Only one
// contender listens during a measurement (see drain.go).
const notifyChannel = listener.DefaultChannel

// sink is where a contender's consumer reports what it received: hit for
// every notification, resync when the contender says notifications may
// have been lost (the Listener's Resync, lib/pq's nil notification,
// pgxlisten's HandleBacklog). Both are called from the consumer's goroutine.
type sink struct {
	count   atomic.Int64
	target  atomic.Int64
	from    atomic.Int64   // count when expect was called
	first   atomic.Int64   // unix ns of the first notification after expect
	done    chan time.Time // the moment count reached target
	resyncs chan time.Time
}

func newSink() *sink {
	return &sink{done: make(chan time.Time, 1), resyncs: make(chan time.Time, 64)}
}

func (s *sink) hit() {
	c := s.count.Add(1)
	if c == s.from.Load()+1 {
		s.first.Store(time.Now().UnixNano())
	}
	if c == s.target.Load() {
		s.done <- time.Now()
	}
}

func (s *sink) resync() {
	select {
	case s.resyncs <- time.Now():
	default:
	}
}

// expect arms the sink for n more notifications; wait waits for them.
// Call it only while no notification is in flight.
func (s *sink) expect(n int64) {
	c := s.count.Load()
	s.from.Store(c)
	s.target.Store(c + n)
}

// firstAt returns when the first notification after expect arrived.
func (s *sink) firstAt() time.Time { return time.Unix(0, s.first.Load()) }

func (s *sink) wait(timeout time.Duration) (time.Time, error) {
	select {
	case t := <-s.done:
		return t, nil
	case <-time.After(timeout):
		return time.Time{}, errors.New("timed out: notifications lost or too slow")
	}
}

// contender is one way of receiving notifications. start returns once it
// LISTENs on notifyChannel; from then on every notification reaches s.
type contender interface {
	name() string
	start(ctx context.Context, dbURL string, s *sink) error
	stop()
}

func allContenders(mailboxCap int) []contender {
	return []contender{&bare{}, &ours{mailboxCap: mailboxCap}, &pgxl{}, &libpq{}}
}

// bare is the physical limit: one pgx connection, WaitForNotification with
// a background context (no per-call context watcher), counting.
type bare struct {
	conn *pgx.Conn
	done chan struct{}
}

func (b *bare) name() string { return nameBare }

func (b *bare) start(ctx context.Context, dbURL string, s *sink) error {
	conn, err := pgx.Connect(ctx, withApp(dbURL, "bench-bare"))
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notifyChannel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return err
	}
	b.conn, b.done = conn, make(chan struct{})
	go func() {
		defer close(b.done)
		for {
			if _, err := conn.WaitForNotification(context.Background()); err != nil {
				return
			}
			s.hit()
		}
	}()
	return nil
}

func (b *bare) stop() {
	// A past deadline wakes the blocked read; then the connection is ours.
	_ = b.conn.PgConn().Conn().SetDeadline(time.Unix(1, 0))
	<-b.done
	_ = b.conn.PgConn().Conn().Close()
}

// ours is this library: a Listener publishing to a PubSub with one
// mailbox subscribed to TopicAll, read by a fast consumer goroutine.
// start returns once the Listener is ready (Listener.WaitReady).
type ours struct {
	mailboxCap int
	healthy    time.Duration // Config.HealthyAfter; 0 = default
	l          *listener.Listener
	mb         *pubsub.Mailbox
	cancel     context.CancelFunc
	served     chan struct{}
	consumed   chan struct{}
}

func (o *ours) name() string { return nameListener }

func (o *ours) start(ctx context.Context, dbURL string, s *sink) error {
	ps := pubsub.New(discard)
	l, err := listener.New(listener.Config{
		ConnString:   dbURL, // application_name: listener.DefaultApplicationName
		PubSub:       ps,
		Logger:       discard,
		HealthyAfter: o.healthy,
	})
	if err != nil {
		return err
	}
	o.l, o.mb = l, pubsub.NewMailbox(o.mailboxCap)
	if err := l.SubscribeAll(o.mb); err != nil {
		return err
	}
	listening := make(chan struct{})
	var once sync.Once
	o.consumed = make(chan struct{})
	go func() {
		defer close(o.consumed)
		for ev := range o.mb.C() {
			switch {
			case ev.Kind == pubsub.TableChanged:
				s.hit()
			case ev.Reason == pubsub.ReasonListen:
				once.Do(func() { close(listening) })
				s.resync()
			}
		}
	}()
	sctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.served = cancel, make(chan struct{})
	go func() {
		defer close(o.served)
		_ = l.Serve(sctx)
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		o.stop()
		return errors.New("the Listener did not start listening within 10 s")
	}
	// Started means ready, as a program would wait for it: the
	// cross-session probe that every new session sends (a connection
	// of its own, so a backend to start on the server) has come back,
	// and is not left running into the measurement that follows.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.WaitReady(rctx); err != nil {
		o.stop()
		return err
	}
	return nil
}

func (o *ours) stop() {
	o.cancel()
	<-o.served
	o.mb.Close()
	<-o.consumed
}

// pgxl is github.com/jackc/pgxlisten with a synchronous handler that
// counts; HandleBacklog, called after every (re-)LISTEN, is its resync.
type pgxl struct {
	reconnect time.Duration
	cancel    context.CancelFunc
	done      chan struct{}
}

func (p *pgxl) name() string { return namePgxlisten }

type pgxlHandler struct {
	s     *sink
	ready chan struct{}
	once  sync.Once
}

func (h *pgxlHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h.s.hit()
	return nil
}

func (h *pgxlHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.once.Do(func() { close(h.ready) })
	h.s.resync()
	return nil
}

func (p *pgxl) start(ctx context.Context, dbURL string, s *sink) error {
	cfg, err := pgx.ParseConfig(withApp(dbURL, "bench-pgxlisten"))
	if err != nil {
		return err
	}
	delay := p.reconnect
	if delay == 0 {
		delay = 100 * time.Millisecond
	}
	h := &pgxlHandler{s: s, ready: make(chan struct{})}
	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg) },
		ReconnectDelay: delay,
	}
	l.Handle(notifyChannel, h)
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		_ = l.Listen(lctx)
	}()
	select {
	case <-h.ready:
		return nil
	case <-time.After(10 * time.Second):
		p.stop()
		return errors.New("pgxlisten did not start listening within 10 s")
	}
}

func (p *pgxl) stop() {
	p.cancel()
	<-p.done
}

// libpq is github.com/lib/pq's Listener: a reader goroutine feeding its
// Notify channel, read here by a consumer goroutine. A nil notification
// after a reconnect is its resync.
type libpq struct {
	l    *pq.Listener
	done chan struct{}
}

func (p *libpq) name() string { return namePq }

func (p *libpq) start(ctx context.Context, dbURL string, s *sink) error {
	p.l = pq.NewListener(withApp(dbURL, "bench-libpq"), 100*time.Millisecond, 30*time.Second, nil)
	if err := p.l.Listen(notifyChannel); err != nil {
		_ = p.l.Close()
		return err
	}
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		for n := range p.l.Notify {
			if n == nil {
				s.resync()
				continue
			}
			s.hit()
		}
	}()
	return nil
}

func (p *libpq) stop() {
	_ = p.l.Close()
	<-p.done
}

var discard = slog.New(slog.DiscardHandler)
