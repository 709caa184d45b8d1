package cluster

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Terms that end right after their first publish leave no goroutine of
// the NATS client behind once the connection is closed.
// Each term's relay reads one event, publishes it and finds its mailbox
// closed at once, so that its term ends within microseconds of the
// publish: the moment nats.go starts a JetStream context's reconnect
// watcher. A relay that cleaned up a JetStream context of its own there
// left that watcher blocked for good, most terms.
func TestRelayTermsLeaveNoGoroutine(t *testing.T) {
	ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	cfg, err := Config{NATSOptions: []nats.Option{nats.InProcessServer(ns)}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	c := &Cluster{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, nil)), id: "relay-test"}
	e := &elector{c: c}
	c.elector = e
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nc, js, err := c.connect("phoenixkitdb-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := c.ensureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	pub, err := newPublisher(nc)
	if err != nil {
		t.Fatal(err)
	}
	const terms = 50
	for n := uint64(1); n <= terms; n++ {
		mb := pubsub.NewMailbox(4)
		tm := &term{n: n, mb: mb, stopRelay: make(chan struct{}), fenced: make(chan struct{})}
		e.relay.beginTerm(nil, mb)
		ps := pubsub.New(c.log)
		if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
			t.Fatal(err)
		}
		ps.ResyncWith(pubsub.ReasonManual)
		if mb.Len() == 0 {
			t.Fatal("no event in the relay mailbox")
		}
		mb.Close() // what C's buffer holds stays readable
		e.runRelay(ctx, pub, tm)
	}
	// The terms did publish (not all are stored: a term may read the
	// stream's last sequence before the previous term's message landed).
	st, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		t.Fatalf("no term's event reached the stream; log:\n%s", logs)
	}
	t.Logf("%d of %d terms' events stored", info.State.Msgs, terms)

	nc.Close()
	const watcher = "jetstream.(*jetStream).resetPendingAcksOnReconnect"
	deadline := time.Now().Add(30 * time.Second) // a bound for the watchers to see CLOSED
	for {
		buf := make([]byte, 1<<22)
		stacks := string(buf[:runtime.Stack(buf, true)])
		n := strings.Count(stacks, watcher+"(")
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines %s left after the connection closed", n, watcher)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
