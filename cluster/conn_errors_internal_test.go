package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The NATS client's asynchronous errors (here a slow consumer) reach the
// module's logger, not the client's default handler, which writes to
// stderr.
func TestNATSAsyncErrorsReachTheLogger(t *testing.T) {
	ns, err := server.NewServer(&server.Options{DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	logs := &lockedBuffer{}
	cfg, err := Config{NATSOptions: []nats.Option{nats.InProcessServer(ns)}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, nil))}
	nc, _, err := c.connect("phoenixkitdb-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	release := make(chan struct{})
	defer close(release)
	sub, err := nc.Subscribe("x", func(*nats.Msg) { <-release })
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(1, 1<<20); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := nc.Publish("x", []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "cluster: NATS client error") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the slow consumer; logs:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, "slow consumer") || !strings.Contains(l, "subject=x") {
		t.Fatalf("log line lacks the error or the subject:\n%s", l)
	}
}
