// Command cluster runs several instances of one app in one process, each
// with the cluster module: one instance (the leader) reads PostgreSQL,
// every instance gets every change of public.orders through a NATS
// JetStream stream. Stop the leader's instance and another takes over.
//
//	DATABASE_URL=postgres://user:pass@localhost:5432/app go run ./examples/cluster
//	DATABASE_URL=... NATS_URL=nats://127.0.0.1:4222 go run ./examples/cluster -instances 3
//
// Without NATS_URL it starts an embedded NATS server with JetStream in a
// temporary directory. In production each instance is its own process
// running the same code as one instance here (see docs/cluster.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/trigger"
	"github.com/thejerf/suture/v4"
)

func main() {
	instances := flag.Int("instances", 3, "app instances to run in this process")
	flag.Parse()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "cluster: set DATABASE_URL to your database's URL, e.g. DATABASE_URL=postgres://user:pass@localhost:5432/app")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, url, os.Getenv("NATS_URL"), *instances, os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		slog.Error("cluster", "err", err)
		os.Exit(1)
	}
}

// run starts n instances and prints "ready" once all of them are, then
// one line per change each instance receives, until ctx ends.
func run(ctx context.Context, dbURL, natsURL string, n int, out io.Writer) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := trigger.Ensure(ctx, pool, "public", "orders"); err != nil {
		return err
	}

	natsCfg := cluster.Config{URL: natsURL}
	if natsURL == "" {
		ns, stopNATS, err := embeddedNATS()
		if err != nil {
			return err
		}
		defer stopNATS()
		natsCfg.NATSOptions = []nats.Option{nats.InProcessServer(ns)}
	}

	var mu sync.Mutex // one line at a time on out
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: every instance's supervisor has stopped
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan error, 2*n)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := instance(ctx, i, dbURL, natsCfg, ready, printf); err != nil && ctx.Err() == nil {
				ready <- err
			}
		}()
	}
	for range n {
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	printf("ready: %d instances\n", n)
	<-ctx.Done()
	return ctx.Err()
}

// instance is one app instance: its own supervisor, Registry, DB module
// wrapped by the cluster module, and a mailbox on public.orders. It
// reports on ready once changes flow, then prints what it receives.
func instance(ctx context.Context, i int, dbURL string, natsCfg cluster.Config, ready chan<- error,
	printf func(string, ...any)) error {
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: dbURL})
	if err != nil {
		return err
	}
	cl, err := cluster.New(natsCfg, db)
	if err != nil {
		return err
	}
	sup := suture.NewSimple(fmt.Sprintf("app-%d", i))
	reg := phoenixkitdb.NewRegistry(sup, nil)
	if err := reg.Register(cl); err != nil { // in place of db: its Key is "db" too
		return err
	}
	if err := reg.Enable("db"); err != nil {
		return err
	}
	mb := pubsub.NewMailbox(256)
	defer mb.Close()
	if err := db.Changes().Subscribe(mb, "public", "orders"); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := sup.ServeBackground(ctx)
	defer func() { cancel(); <-done }()

	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := db.Changes().WaitReady(wctx); err != nil {
		return fmt.Errorf("instance %d: %w", i, err)
	}
	ready <- nil
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-mb.C():
			switch ev.Kind {
			case pubsub.Resync:
				printf("instance %d: resync (%s): reload what you show\n", i, ev.Reason)
			case pubsub.TableChanged:
				printf("instance %d: %s %s.%s id=%s\n", i, ev.Operation, ev.Schema, ev.Table, ev.RowID)
			}
		}
	}
}

// embeddedNATS starts an in-process NATS server with JetStream, reachable
// only from this process, storing in a temporary directory; stop shuts
// it down and removes the directory.
func embeddedNATS() (ns *server.Server, stop func(), err error) {
	dir, err := os.MkdirTemp("", "phoenixkitdb-cluster-example-")
	if err != nil {
		return nil, nil, err
	}
	stop = func() { _ = os.RemoveAll(dir) }
	ns, err = server.NewServer(&server.Options{JetStream: true, StoreDir: dir, DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		stop()
		return nil, nil, err
	}
	ns.Start()
	stop = func() { ns.Shutdown(); ns.WaitForShutdown(); _ = os.RemoveAll(dir) }
	if !ns.ReadyForConnections(30 * time.Second) {
		stop()
		return nil, nil, errors.New("cluster: embedded NATS server not ready")
	}
	return ns, stop, nil
}
