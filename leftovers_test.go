package phoenixkitdb_test

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Switching modes leaves things behind. Start in NOTIFY mode warns about
// the WAL source's unused slot and names DropSlot; Start in WAL mode says
// which published tables still carry change triggers and names
// trigger.Remove. Once removed, nothing is logged. FindLeftovers agrees
// with the catalog.
func TestStartReportsLeftovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, url, conn := logicalServer(ctx, t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	start := func(cfg phoenixkitdb.Config) string {
		t.Helper()
		var logs pgtest.LogBuffer
		cfg.ConnString = url
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		db, err := phoenixkitdb.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	notify := phoenixkitdb.Config{WAL: replication.Config{Slot: "pkdb_left"}}
	wal := phoenixkitdb.Config{Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Slot: "pkdb_wal", Publication: "pkdb_pub"}}

	// NOTIFY mode after WAL mode: the slot is there and unused.
	exec(`SELECT pg_create_logical_replication_slot('pkdb_left', 'pgoutput')`)
	l, err := phoenixkitdb.FindLeftovers(ctx, conn, notify)
	if err != nil || l.Slot != "pkdb_left" || l.SlotRetainedBytes < 0 || len(l.Triggered) != 0 {
		t.Fatalf("FindLeftovers in NOTIFY mode = %+v, %v; want the slot pkdb_left", l, err)
	}
	logs := start(notify)
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "slot=pkdb_left") || !strings.Contains(logs, "replication.DropSlot") {
		t.Fatalf("Start in NOTIFY mode with an unused slot logged:\n%s\nwant a WARN naming the slot and DropSlot", logs)
	}
	// Another slot's name is not ours.
	if l, err := phoenixkitdb.FindLeftovers(ctx, conn, phoenixkitdb.Config{}); err != nil || !l.Empty() {
		t.Fatalf("FindLeftovers with the default slot = %+v, %v; want nothing", l, err)
	}
	if err := replication.DropSlot(ctx, conn, "pkdb_left"); err != nil {
		t.Fatal(err)
	}
	if logs := start(notify); strings.Contains(logs, "slot") {
		t.Fatalf("Start logged about a slot after DropSlot:\n%s", logs)
	}

	// WAL mode after NOTIFY mode: a published table still has its trigger;
	// a triggered table outside the publication is none of WAL mode's business.
	exec(`CREATE TABLE public.items (id int PRIMARY KEY)`)
	exec(`CREATE TABLE public.other (id int PRIMARY KEY)`)
	for _, tbl := range []string{"items", "other"} {
		if err := trigger.Ensure(ctx, conn, "public", tbl); err != nil {
			t.Fatal(err)
		}
	}
	items := pgsql.Table{Schema: "public", Name: "items"}
	if err := replication.EnsurePublication(ctx, conn, "pkdb_pub", items); err != nil {
		t.Fatal(err)
	}
	var want []pgsql.Table // what the catalog says: triggered and published
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_trigger tg
		JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_publication_tables pt ON pt.schemaname = n.nspname AND pt.tablename = c.relname AND pt.pubname = 'pkdb_pub'
		WHERE tg.tgname LIKE 'phoenix\_kit\_db\_change\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tb pgsql.Table
		if err := rows.Scan(&tb.Schema, &tb.Name); err != nil {
			t.Fatal(err)
		}
		want = append(want, tb)
	}
	if l, err := phoenixkitdb.FindLeftovers(ctx, conn, wal); err != nil || !reflect.DeepEqual(l.Triggered, want) || l.Slot != "" {
		t.Fatalf("FindLeftovers in WAL mode = %+v, %v; want triggered %v", l, err, want)
	}
	logs = start(wal)
	if !strings.Contains(logs, "level=INFO") || !strings.Contains(logs, `public\".\"items`) ||
		strings.Contains(logs, "other") || !strings.Contains(logs, "trigger.Remove") {
		t.Fatalf("Start in WAL mode with a triggered published table logged:\n%s\nwant an INFO naming public.items (only) and trigger.Remove", logs)
	}
	if err := trigger.Remove(ctx, conn, "public", "items"); err != nil {
		t.Fatal(err)
	}
	if logs := start(wal); strings.Contains(logs, "trigger") {
		t.Fatalf("Start logged about triggers after trigger.Remove:\n%s", logs)
	}
	if err := replication.DropSlot(ctx, conn, "pkdb_wal"); err != nil {
		t.Fatal(err)
	}
}
