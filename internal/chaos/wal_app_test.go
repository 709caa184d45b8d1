//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// WAL Source settings: short enough that faults heal quickly in a soak.
const (
	// walTimeout: a frozen path is found within about this (a keepalive
	// is asked for after a third of it).
	walTimeout = 3 * time.Second
	// walStatusInterval: how often positions are confirmed, so the end
	// check that slots confirmed the fence does not wait long.
	walStatusInterval = time.Second
)

// walSettings make the WAL soak's own server stream logical replication.
var walSettings = map[string]string{
	"wal_level":             "logical",
	"max_replication_slots": "10",
	"max_wal_senders":       "10",
}

// walAllowed are the only Resync reasons a WAL Source may cause.
var walAllowed = []pubsub.Reason{pubsub.ReasonOverflow, pubsub.ReasonStart, pubsub.ReasonSlot}

// newWALApp builds WAL app number i: a replication.Source on a slot of
// its own, connecting through a proxy to srv.
func newWALApp(i int, srv *pgtest.Server, dbURL string, clock *atomic.Int64, logs *ring, specs []mailboxSpec) (*app, error) {
	proxy, err := pgtest.NewProxy(fmt.Sprintf("%s:%d", srv.Host(), srv.Port()))
	if err != nil {
		return nil, err
	}
	a := &app{name: fmt.Sprintf("chaos-wal-%d", i), dbURL: dbURL, proxy: proxy, slot: fmt.Sprintf("chaos_wal_%d", i)}
	a.log = slog.New(slog.NewTextHandler(logs, nil)).With("app", a.name)
	a.ps = pubsub.New(a.log)
	a.w, err = replication.New(replication.Config{
		ConnString:     pgtest.WithApplicationName(proxy.URL(dbURL), a.name),
		Slot:           a.slot,
		Publication:    walPublication,
		PubSub:         a.ps,
		Logger:         slog.New(&walTrap{Handler: a.log.Handler(), a: a}),
		MinBackoff:     minBackoff,
		MaxBackoff:     maxBackoff,
		StatusInterval: walStatusInterval,
		Timeout:        walTimeout,
		ConnectTimeout: connectTimeout,
	})
	if err != nil {
		proxy.Close()
		return nil, err
	}
	a.src = a.w
	if err := a.supervise(clock, specs); err != nil {
		proxy.Close()
		return nil, err
	}
	return a, nil
}

// walTrap is the Source's log handler. When armed it panics once inside
// Serve: on the "streaming" line (a connection open, START_REPLICATION
// sent, a Resync possibly just broadcast) or on the line that reports a
// lost connection (none open). It also counts the ERROR lines that report
// a lost slot: the issue wants each loss to be loud.
type walTrap struct {
	slog.Handler
	a *app
}

func (h *walTrap) Handle(ctx context.Context, r slog.Record) error {
	switch msg := r.Message; {
	case strings.HasPrefix(msg, "replication: streaming") && h.a.panicListening.CompareAndSwap(true, false):
		panic("chaos: injected panic in the Source's session, right after START_REPLICATION")
	case (strings.HasPrefix(msg, "replication: connection lost") || strings.HasPrefix(msg, "replication: cannot connect")) &&
		h.a.panicNext.CompareAndSwap(true, false):
		panic("chaos: injected panic in the Source's Serve, between connections")
	case r.Level == slog.LevelError && strings.HasPrefix(msg, "replication: the slot "):
		h.a.slotErrors.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *walTrap) WithAttrs(as []slog.Attr) slog.Handler {
	return &walTrap{Handler: h.Handler.WithAttrs(as), a: h.a}
}

func (h *walTrap) WithGroup(name string) slog.Handler {
	return &walTrap{Handler: h.Handler.WithGroup(name), a: h.a}
}

// walTotals sums the Sources' counters.
func walTotals(apps []*app) listenerStats {
	var t listenerStats
	for _, a := range apps {
		st := a.w.Stats()
		t.reconnects += st.Reconnects
		t.received += st.Received
		t.published += st.Published
	}
	return t
}
