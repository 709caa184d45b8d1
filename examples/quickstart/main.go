// Command quickstart prints every change to public.orders as it happens.
//
//	DATABASE_URL=postgres://user:pass@localhost:5432/app go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		// pgx would fall back to PG* variables and defaults and fail obscurely.
		fmt.Fprintln(os.Stderr, "quickstart: set DATABASE_URL to your database's URL, e.g. DATABASE_URL=postgres://user:pass@localhost:5432/app")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, url); err != nil && !errors.Is(err, context.Canceled) {
		slog.Error("quickstart", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string) error {
	// Triggers are installed through an ordinary pool of your own.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := trigger.Ensure(ctx, pool, "public", "orders"); err != nil {
		return err // idempotent: safe from every instance at start-up
	}

	// A Listener with a connection of its own, supervised until ctx ends.
	// Start returns once changes flow (at most 30 s).
	db, err := phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: url})
	if err != nil {
		return err
	}
	defer db.Close() // waits until the Listener has closed its connection

	// Subscribe first, then load: a change that lands in between is not lost.
	mb := pubsub.NewMailbox(256)
	defer mb.Close()
	if err := db.Subscribe(mb, "public", "orders"); err != nil {
		return err
	}
	load := func() error {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM public.orders").Scan(&n); err != nil {
			return err
		}
		fmt.Println("loaded:", n, "orders")
		return nil
	}
	if err := load(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-mb.C():
			if ev.Kind == pubsub.Resync {
				// Changes may have been missed (a reconnect, an overflow): reload.
				if err := load(); err != nil {
					return err
				}
				continue
			}
			fmt.Println("change:", ev.Operation, ev.Schema+"."+ev.Table, ev.RowID)
		}
	}
}
