package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A WAL change source's changes and slot show in the collector: the
// source and PubSub series labelled source="wal" and the slot, the
// slot's confirmed position advancing, its lag a gauge in bytes.
func TestCollectorOverReplicationSource(t *testing.T) {
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url := pgtest.NewDB(t, srv)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, sql := range []string{
		`CREATE TABLE items (id bigint PRIMARY KEY, note text)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE items`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	ps := pubsub.New(slog.New(slog.DiscardHandler))
	src, err := replication.New(replication.Config{
		ConnString: url, Slot: "metrics_test", Temporary: true, PubSub: ps,
		Logger: slog.New(slog.DiscardHandler), StatusInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(100)
	t.Cleanup(mb.Close)
	if err := src.SubscribeAll(mb); err != nil {
		t.Fatal(err)
	}
	c, err := metrics.New(metrics.Replication(src))
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Serve(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	if err := src.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := conn.Exec(ctx, `INSERT INTO items VALUES ($1, 'x')`, i); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "3 changes published and confirmed", func() bool {
		st := src.Stats()
		return st.Published == 3 && st.ConfirmedLSN > 0
	})

	const labels = `channel="",slot="metrics_test",source="wal"`
	want := fmt.Sprintf(`# HELP phoenixkitdb_source_published_total Changes the source handed to its PubSub.
# TYPE phoenixkitdb_source_published_total counter
phoenixkitdb_source_published_total{%s} 3
# HELP phoenixkitdb_pubsub_delivered_total Events put into subscribers' mailboxes (one per mailbox reached).
# TYPE phoenixkitdb_pubsub_delivered_total counter
phoenixkitdb_pubsub_delivered_total{%s} 3
`, labels, labels)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "phoenixkitdb_source_published_total", "phoenixkitdb_pubsub_delivered_total"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "phoenixkitdb_slot_") {
			seen[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if seen["phoenixkitdb_slot_confirmed_flush_lsn_bytes"] <= 0 {
		t.Errorf("slot gauges %v: want a confirmed position", seen)
	}
	if _, ok := seen["phoenixkitdb_slot_lag_bytes"]; !ok {
		t.Errorf("slot gauges %v: want the lag", seen)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
