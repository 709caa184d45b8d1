package listener_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// BenchmarkDrain times a burst of distinct NOTIFYs sent in one transaction,
// from commit until the last one is consumed: a bare pgx loop (the
// connection's physical limit) against the Listener feeding one mailbox.
// Compare the events/s metrics of the two sub-benchmarks of one run.
func BenchmarkDrain(b *testing.B) {
	const burst = 100_000
	url := pgtest.NewDB(b, pg)
	sender, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close(context.Background())
	send := func() time.Time {
		if _, err := sender.Exec(context.Background(),
			`SELECT pg_notify($1, 'public.bench:INSERT:' || g) FROM generate_series(1, $2::int) g`,
			listener.DefaultChannel, burst); err != nil {
			b.Fatal(err)
		}
		return time.Now()
	}

	b.Run("bare-pgx", func(b *testing.B) {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "LISTEN "+listener.DefaultChannel); err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		for b.Loop() {
			send()
			start := time.Now()
			for range burst {
				if _, err := conn.WaitForNotification(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(burst*b.N)/total.Seconds(), "events/s")
	})

	b.Run("listener", func(b *testing.B) {
		ps := pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
		l, err := listener.New(listener.Config{ConnString: url, PubSub: ps, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		mb := pubsub.NewMailbox(burst + 16)
		defer mb.Close()
		_ = l.SubscribeAll(mb)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Serve(ctx) }()
		defer func() { cancel(); <-done }()
		<-mb.C() // the Resync of the first LISTEN
		var total time.Duration
		for b.Loop() {
			send()
			start := time.Now()
			for range burst {
				<-mb.C()
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(burst*b.N)/total.Seconds(), "events/s")
	})
}
