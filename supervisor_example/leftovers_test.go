package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Switching modes: in NOTIFY mode the app warns about the slot WAL mode
// left and names -drop-slot, which drops it; in WAL mode it names the
// published tables that still carry change triggers and -remove-triggers,
// which removes those and nothing else.
func TestLeftoversNamedAndRemoved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := newUserDB(t)
	const slot = "sx_leftover"
	userSQL(t, url, `SELECT pg_create_logical_replication_slot('`+slot+`', 'pgoutput')::text`)
	t.Cleanup(func() {
		userSQL(t, url, `SELECT count(pg_drop_replication_slot(slot_name))::text FROM pg_replication_slots WHERE slot_name = '`+slot+`'`)
	})
	slotCount := func() string {
		return userSQL(t, url, `SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = '`+slot+`'`)
	}

	// NOTIFY mode after WAL mode.
	n := setup(t, setupOptions{url: url, noDemoSchema: true, slot: slot})
	if logs := n.logs.String(); !strings.Contains(logs, `level=WARN msg="leftover: replication slot from WAL mode`) ||
		!strings.Contains(logs, "-drop-slot") || !strings.Contains(logs, "slot="+slot) {
		t.Errorf("NOTIFY mode with an unused slot logged:\n%s\nwant a WARN naming the slot and -drop-slot", logs)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := cleanUp(ctx, options{databaseURL: url, dropSlot: true, slot: slot}, quiet); err != nil {
		t.Fatal(err)
	}
	if got := slotCount(); got != "0" {
		t.Fatalf("-drop-slot left %s slots named %s", got, slot)
	}
	if logs := setup(t, setupOptions{url: url, noDemoSchema: true, slot: slot}).logs.String(); strings.Contains(logs, "leftover") {
		t.Errorf("a leftover is reported after -drop-slot:\n%s", logs)
	}

	// WAL mode after NOTIFY mode: orders is published and triggered;
	// secrets is triggered only, which is not WAL mode's business.
	for _, tbl := range []string{"orders", "secrets"} {
		if err := trigger.Ensure(ctx, n.conn, "public", tbl); err != nil {
			t.Fatal(err)
		}
	}
	w := setup(t, setupOptions{url: url, wal: true, noDemoSchema: true, watch: []watchTable{{Schema: "public", Table: "orders"}}})
	if logs := w.logs.String(); !strings.Contains(logs, `level=INFO msg="leftover: change triggers from NOTIFY mode`) ||
		!strings.Contains(logs, "tables=[public.orders]") || !strings.Contains(logs, "-remove-triggers") {
		t.Errorf("WAL mode with a triggered published table logged:\n%s\nwant an INFO naming public.orders only and -remove-triggers", logs)
	}
	if err := cleanUp(ctx, options{databaseURL: url, removeTriggers: true, publication: "phoenixkitdb"}, quiet); err != nil {
		t.Fatal(err)
	}
	for tbl, want := range map[string]bool{"orders": false, "secrets": true} {
		if has, err := trigger.Has(ctx, n.conn, "public", tbl); err != nil || has != want {
			t.Errorf("after -remove-triggers: trigger on public.%s %v (%v), want %v", tbl, has, err, want)
		}
	}
	if logs := setup(t, setupOptions{url: url, wal: true, noDemoSchema: true}).logs.String(); strings.Contains(logs, "leftover") {
		t.Errorf("a leftover is reported after -remove-triggers:\n%s", logs)
	}
}
