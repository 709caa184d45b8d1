package replication_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestEventsCarryTheirTransactionsXid: every change of a transaction
// carries the xid the server gave it (pg_current_xact_id() modulo 2^32),
// which a snapshot-consistent consumer compares with pg_current_snapshot().
func TestEventsCarryTheirTransactionsXid(t *testing.T) {
	b := setup(t, options{})
	conn := connect(t, b.url)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	var xids []uint32
	for i := range 3 {
		tx, err := conn.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var x string
		if err := tx.QueryRow(t.Context(), `SELECT pg_current_xact_id()::text`).Scan(&x); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			if _, err := tx.Exec(t.Context(), `INSERT INTO items (id, n) VALUES ($1, 0)`, i*10+j); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		full, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		xids = append(xids, uint32(full))
	}
	for i, want := range xids {
		for range 2 {
			if ev := next(t, b.mb, 10*time.Second); ev.Xid != want {
				t.Fatalf("transaction %d: %v has xid %d, the server gave %d", i, ev, ev.Xid, want)
			}
		}
	}
}
