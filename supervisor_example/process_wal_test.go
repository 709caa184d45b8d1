package main

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// TestProcessWAL runs the program with -source=wal as a user would: the
// embedded server streams logical replication, the demo's changes reach
// the SSE stream with their rows (old and new values of an UPDATE), and a
// clean exit drops the slot; on a database the user names, -watch adds the
// table to the publication (no trigger) and the slot is kept for the next
// run.
func TestProcessWAL(t *testing.T) {
	pgtest.Require(t, srv)
	bin := built.binary(t)

	t.Run("embedded", func(t *testing.T) {
		p := startProgram(t, bin, "-source=wal", "-demo-interval", "100ms")
		dbURL := p.waitLog(t, "embedded PostgreSQL ready")["url"].(string)
		s := p.checkServes(t, dbURL, "demo", "orders")
		var c walChange
		s.next(t, 20*time.Second, "a demo UPDATE with old and new values", func(f frame) bool {
			if f.event != "change" {
				return false
			}
			c = walChange{}
			f.decode(t, &c)
			return c.Operation == "UPDATE" && c.New != nil && c.Old != nil && c.LSN != ""
		})
		if c.RowID == "" || len(c.New) != len(c.Old) {
			t.Errorf("demo UPDATE = %+v, want a row id and whole old and new rows (REPLICA IDENTITY FULL)", c)
		}
		if strings.Contains(p.allLogs(), `"msg":"watch: created"`) {
			t.Errorf("WAL mode installed triggers:\n%s", p.allLogs())
		}
		p.stop(t)
		if !strings.Contains(p.allLogs(), `"msg":"shutdown: replication slot dropped","slot":"phoenixkitdb"`) {
			t.Errorf("the embedded demo did not drop its slot on exit:\n%s", p.allLogs())
		}
	})

	t.Run("database-url", func(t *testing.T) {
		dbURL := newUserDB(t)
		const slot = "sx_process_wal"
		t.Cleanup(func() {
			userSQL(t, dbURL, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '`+slot+`'`)
		})
		p := startProgram(t, bin, "-database-url", dbURL, "-watch", "public.orders", "-source", "wal", "-slot", slot)
		s := p.checkServes(t, dbURL, "public", "orders")
		userSQL(t, dbURL, `UPDATE public.orders SET amount_cents = 4343`)
		var c walChange
		s.next(t, 10*time.Second, "the UPDATE", isChange(t, "public.orders", "UPDATE")).decode(t, &c)
		if c.New["amount_cents"] != float64(4343) {
			t.Errorf("UPDATE frame = %+v, want new amount_cents 4343", c)
		}
		logs := p.allLogs()
		if !strings.Contains(logs, `"msg":"watch: added to publication","table":"public.orders","publication":"phoenixkitdb"`) {
			t.Errorf("the app did not log the table it published:\n%s", logs)
		}
		if got := userSQL(t, dbURL, `SELECT count(*)::text FROM pg_trigger WHERE NOT tgisinternal`); got != "0" {
			t.Errorf("WAL mode installed %s triggers on a user's database", got)
		}
		p.stop(t)
		if !strings.Contains(p.allLogs(), `"msg":"shutdown: replication slot kept`) {
			t.Errorf("the app did not log that it keeps the slot:\n%s", p.allLogs())
		}
		if got := userSQL(t, dbURL, `SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = '`+slot+`'`); got != "1" {
			t.Errorf("the slot on a user's database is gone after exit; it must be kept")
		}
	})
}
