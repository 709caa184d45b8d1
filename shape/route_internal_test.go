package shape

import (
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRouteMissingColumns: an UPDATE whose new row lacks a column
// (unchanged TOAST, default replica identity) reaches only the shapes
// holding its key, those the index names for the columns it has and
// those filed under the column it lacks, not every shape of the table;
// the shape holding the row gets the Update.
func TestRouteMissingColumns(t *testing.T) {
	const n, onNote = 1000, 10
	r, tbl, sub := benchRouter(t, n)
	for i := range onNote {
		// Filed under note (the first conjunct, buckets empty alike);
		// tenant_id decides them False without the missing note.
		addBenchShape(t, r, "note = $1 AND tenant_id = $2", []string{"n" + strconv.Itoa(i), strconv.Itoa(-1 - i)})
	}
	ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: pubsub.Update,
		RowID: "0", New: toastRow(t, tbl, 0, 0), LSN: 1, Seq: 1}
	before := r.routed
	r.walEvent(tbl, &ev, nil)
	// Shape 0 holds the key and is named by tenant_id; the onNote shapes
	// are named for the missing note.
	if got, want := r.routed-before, uint64(1+onNote); got != want {
		t.Errorf("the update was routed to %d shapes of %d, want %d", got, n+onNote, want)
	}
	if msg := <-sub.ch; msg.Kind != Update || msg.Key != "0" {
		t.Fatalf("got %v %q, want the update of key 0", msg.Kind, msg.Key)
	}
	// Moving the row to a tenant no shape has is a move-out for shape 0;
	// still not every shape. (A move-in would fetch the whole row.)
	ev.New, ev.LSN = toastRow(t, tbl, 0, n+5), 2
	before = r.routed
	r.walEvent(tbl, &ev, nil)
	if got, want := r.routed-before, uint64(1+onNote); got != want {
		t.Errorf("the move was routed to %d shapes, want %d", got, want)
	}
	if msg := <-sub.ch; msg.Kind != Delete || msg.Key != "0" {
		t.Fatalf("got %v %q, want the move-out of key 0", msg.Kind, msg.Key)
	}
	if tbl.hasKey(tbl.shapes[0], "0") {
		t.Errorf("shape 0 still holds key 0 after its move-out")
	}
}
