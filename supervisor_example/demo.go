package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// demoWriter is a suture service that writes a gentle stream of inserts,
// updates and deletes into the demo tables, so that the Activity page has
// something to show. It keeps the tables small.
type demoWriter struct {
	pool     *pgxpool.Pool
	interval time.Duration
	log      *slog.Logger
}

// String names the service in supervisor logs.
func (d *demoWriter) String() string { return "demo-writer" }

// Serve writes one change per interval until ctx ends. A failing write is
// logged once when the failures start and once when they stop (the
// database may be restarting); Serve keeps going either way.
func (d *demoWriter) Serve(ctx context.Context) error {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		err := d.step(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !failing:
			d.log.Warn("demo: write failed; retrying quietly", "err", err)
			failing = true
		case err == nil && failing:
			d.log.Info("demo: writes succeed again")
			failing = false
		}
	}
}

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Edsger", "Grace", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Tony", "Frances"}
	lastNames  = []string{"Lovelace", "Turing", "Liskov", "Dijkstra", "Hopper", "Thompson", "Lamport", "Hamilton", "Wirth", "Perlman", "Hoare", "Allen"}
	statuses   = []string{"paid", "packed", "shipped", "delivered"}
)

// step makes one change, chosen at random with weights that keep every
// table alive and bounded.
func (d *demoWriter) step(ctx context.Context) error {
	var users int
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM demo.users`).Scan(&users); err != nil {
		return err
	}
	if users < 5 {
		return d.insertUser(ctx)
	}
	var err error
	switch n := rand.IntN(100); {
	case n < 14:
		err = d.insertUser(ctx)
		if err == nil && users > 12 {
			_, err = d.pool.Exec(ctx, `DELETE FROM demo.users WHERE uuid = (SELECT uuid FROM demo.users ORDER BY created_at LIMIT 1)`)
		}
	case n < 26:
		first, last := firstNames[rand.IntN(len(firstNames))], lastNames[rand.IntN(len(lastNames))]
		_, err = d.pool.Exec(ctx, `UPDATE demo.users SET email = lower($1::text || '.' || $2::text || '@example.com')
			WHERE uuid = (SELECT uuid FROM demo.users ORDER BY random() LIMIT 1)`, first, last)
	case n < 56:
		_, err = d.pool.Exec(ctx, `INSERT INTO demo.orders (user_uuid, amount_cents)
			SELECT uuid, $1::int FROM demo.users ORDER BY random() LIMIT 1`, 500+rand.IntN(20000))
	case n < 76:
		_, err = d.pool.Exec(ctx, `UPDATE demo.orders SET status = $1
			WHERE id = (SELECT id FROM demo.orders ORDER BY random() LIMIT 1)`, statuses[rand.IntN(len(statuses))])
	case n < 86:
		// Delete the oldest order once there are a few; keeps the table small.
		_, err = d.pool.Exec(ctx, `DELETE FROM demo.orders WHERE id =
			(SELECT id FROM demo.orders ORDER BY id LIMIT 1)
			AND (SELECT count(*) FROM demo.orders) > 6`)
	case n < 96:
		// One statement, several rows: the per-statement trigger sends one
		// notification for all of them.
		_, err = d.pool.Exec(ctx, `INSERT INTO demo.events_log (message)
			SELECT 'tick ' || g FROM generate_series(1, $1::int) g`, 1+rand.IntN(3))
	default:
		_, err = d.pool.Exec(ctx, `DELETE FROM demo.events_log WHERE at < now() - interval '1 minute'`)
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

func (d *demoWriter) insertUser(ctx context.Context) error {
	first, last := firstNames[rand.IntN(len(firstNames))], lastNames[rand.IntN(len(lastNames))]
	_, err := d.pool.Exec(ctx, `INSERT INTO demo.users (name, email) VALUES ($1::text || ' ' || $2::text, lower($1::text || '@example.com'))`, first, last)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
