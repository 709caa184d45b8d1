package shape_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestSubscribeBatch: a SubscribeBatch subscriber gets its snapshot as
// one Snapshot message, then UpToDate, holding exactly the rows (keys,
// states, texts) a Subscribe subscriber gets as Inserts: as the shape's
// first subscriber and as a late one (its own snapshot; in NOTIFY mode
// narrowed to the rows the shape holds), in both modes.
func TestSubscribeBatch(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(map[bool]string{false: "wal", true: "notify"}[notify], func(t *testing.T) {
			b := setup(t, options{notify: notify})
			b.exec(t, `INSERT INTO items SELECT g, CASE WHEN g % 3 = 0 THEN E'tab\there\nline' ELSE 'open' END,
				CASE WHEN g % 4 = 0 THEN NULL ELSE g END, g * 1.5, g % 2 = 0, CASE WHEN g = 7 THEN repeat('y', 300000) WHEN g % 5 = 0 THEN '' ELSE repeat('x', g % 300) END
				FROM generate_series(1, 2500) g`)
			def := shape.Definition{Table: "items", Where: "id <= $1", Params: []string{"2400"}, Columns: []string{"n", "note", "status"}}
			first := batchRows(t, b.m, def)
			classic := map[string]*pubsub.Row{}
			sub := subscribe(t, b.m, def)
			for m := range sub.C() {
				if m.Kind == shape.UpToDate {
					break
				}
				if m.Kind != shape.Insert {
					t.Fatalf("Subscribe: a %v message in the snapshot", m.Kind)
				}
				classic[m.Key] = m.Row
			}
			late := batchRows(t, b.m, def)
			for name, got := range map[string]*shape.Rows{"first": first, "late": late} {
				if got.Len() != 2400 || len(classic) != 2400 {
					t.Fatalf("%s: %d rows in the Snapshot, %d Inserts; want 2400", name, got.Len(), len(classic))
				}
				for i := range got.Len() {
					want := classic[got.Key(i)]
					if want == nil {
						t.Fatalf("%s: key %q is not among the Inserts", name, got.Key(i))
					}
					row := got.Row(i)
					for c := range want.Len() {
						ws, wt := want.At(c)
						gs, gt := got.At(i, c)
						rs, rt := row.At(c)
						if gs != ws || gt != wt || rs != ws || rt != wt {
							t.Fatalf("%s: key %s column %s: At %v %q, Row %v %q; the Insert has %v %q",
								name, got.Key(i), want.Layout().Column(c).Name, gs, gt, rs, rt, ws, wt)
						}
					}
				}
			}
		})
	}
}

// batchRows subscribes with SubscribeBatch and returns its snapshot.
func batchRows(t *testing.T, m *shape.Manager, def shape.Definition) *shape.Rows {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sub, err := m.SubscribeBatch(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	var rows *shape.Rows
	for _, want := range []shape.MessageKind{shape.Snapshot, shape.UpToDate} {
		select {
		case msg := <-sub.C():
			if msg.Kind != want {
				t.Fatalf("SubscribeBatch: %v, want %v", msg.Kind, want)
			}
			if want == shape.Snapshot {
				rows = msg.Rows
			}
		case <-ctx.Done():
			t.Fatalf("SubscribeBatch: no %v", want)
		}
	}
	return rows
}
