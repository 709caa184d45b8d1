package shape_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shape"
)

func subscribe(t *testing.T, m *shape.Manager, def shape.Definition) *shape.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sub, err := m.Subscribe(ctx, def)
	if err != nil {
		t.Fatalf("Subscribe(%+v): %v", def, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// TestSnapshotAndChanges: rows, UpToDate, then inserts, updates, deletes
// and a TRUNCATE, equal to the table at the end, in both modes.
func TestSnapshotAndChanges(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(map[bool]string{false: "wal", true: "notify"}[notify], func(t *testing.T) {
			b := setup(t, options{notify: notify})
			b.exec(t, `INSERT INTO items SELECT g, 'open', g, g * 1.5, g % 2 = 0, 'x' FROM generate_series(1, 50) g`)
			marker := follow(subscribe(t, b.m, shape.Definition{Table: "marks"}), shape.Definition{Table: "marks"}, 0, notify)
			all := shape.Definition{Table: "items"}
			some := shape.Definition{Table: "items", Columns: []string{"status"}}
			reps := []*replica{follow(subscribe(t, b.m, all), all, 0, notify), follow(subscribe(t, b.m, some), some, 0, notify)}
			if got := reps[1].Sub.Shape().Columns; len(got) != 2 || got[0].Name != "id" || got[1].Name != "status" || got[0].Type != "bigint" {
				t.Fatalf("columns = %+v, want id bigint and status", got)
			}
			b.exec(t, `UPDATE items SET n = n + 100 WHERE id <= 10`,
				`DELETE FROM items WHERE id BETWEEN 11 AND 20`,
				`INSERT INTO items VALUES (100, 'closed', NULL, NULL, NULL, NULL)`)
			b.quiet(t, marker, 1, reps)
			b.check(t, reps)
			b.exec(t, `TRUNCATE items`, `INSERT INTO items VALUES (7, 'open', 1, 2, true, 'again')`)
			b.quiet(t, marker, 2, reps)
			b.check(t, reps)
		})
	}
}

// TestSharingAndGrace: one shape for equal definitions; a late
// subscriber gets the current rows; an idle shape goes after Grace.
func TestSharingAndGrace(t *testing.T) {
	b := setup(t, options{cfg: shape.Config{Grace: 200 * time.Millisecond}})
	b.exec(t, `INSERT INTO items SELECT g, 'open', g FROM generate_series(1, 10) g`)
	marker := follow(subscribe(t, b.m, shape.Definition{Table: "marks"}), shape.Definition{Table: "marks"}, 0, false)
	def := shape.Definition{Schema: "public", Table: "items", Columns: []string{"n"}}
	first := subscribe(t, b.m, def)
	r1 := follow(first, def, 0, false)
	b.exec(t, `UPDATE items SET n = 0 WHERE id = 1`, `DELETE FROM items WHERE id = 2`)
	b.quiet(t, marker, 1, []*replica{r1})
	second := subscribe(t, b.m, shape.Definition{Table: "items", Columns: []string{"n", "id"}})
	r2 := follow(second, def, 0, false)
	if first.Shape().Handle != second.Shape().Handle {
		t.Fatalf("handles %q and %q: equal definitions do not share a shape", first.Shape().Handle, second.Shape().Handle)
	}
	if st := b.m.Stats(); st.Shapes != 2 || st.Subscriptions != 3 {
		t.Fatalf("stats %+v, want 2 shapes (items, marks) and 3 subscriptions", st)
	}
	b.exec(t, `INSERT INTO items VALUES (11, 'new', 11)`)
	b.quiet(t, marker, 2, []*replica{r1, r2})
	b.check(t, []*replica{r1, r2})

	handle := first.Shape().Handle
	first.Close()
	second.Close()
	deadline := time.Now().Add(10 * time.Second)
	for b.m.Stats().Shapes != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("idle shape not dropped after Grace: %+v", b.m.Stats())
		}
		time.Sleep(10 * time.Millisecond) // polling a counter
	}
	third := subscribe(t, b.m, def)
	if third.Shape().Handle == handle {
		t.Fatalf("a dropped shape's handle came back")
	}
}

// TestBadInput: each mistake is a clear error and disturbs nothing.
func TestBadInput(t *testing.T) {
	b := setup(t, options{cfg: shape.Config{MaxShapes: 3}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	marker := follow(subscribe(t, b.m, shape.Definition{Table: "marks"}), shape.Definition{Table: "marks"}, 0, false)
	good := shape.Definition{Table: "items"}
	rep := follow(subscribe(t, b.m, good), good, 0, false)
	for _, c := range []struct {
		def  shape.Definition
		want error
	}{
		{shape.Definition{Table: "nope"}, shape.ErrDefinition},
		{shape.Definition{Table: ""}, shape.ErrDefinition},
		{shape.Definition{Table: "items", Columns: []string{"nope"}}, shape.ErrDefinition},
		{shape.Definition{Table: "items", Params: []string{"1"}}, shape.ErrDefinition},
		{shape.Definition{Table: "other"}, shape.ErrNotPublished},
	} {
		_, err := b.m.Subscribe(ctx, c.def)
		if !errors.Is(err, c.want) {
			t.Errorf("Subscribe(%+v) = %v, want %v", c.def, err, c.want)
		} else {
			t.Logf("%+v: %v", c.def, err)
		}
	}
	third := subscribe(t, b.m, shape.Definition{Table: "items", Columns: []string{"n"}})
	_, err := b.m.Subscribe(ctx, shape.Definition{Table: "items", Columns: []string{"status"}})
	if !errors.Is(err, shape.ErrTooManyShapes) {
		t.Errorf("a fourth shape: %v, want ErrTooManyShapes", err)
	}
	third.Close()
	// An idle shape makes room.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sub *shape.Subscription
		sub, err = b.m.Subscribe(ctx, shape.Definition{Table: "items", Columns: []string{"status"}})
		if err == nil {
			t.Cleanup(sub.Close)
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the router reaps the closed subscription
	}
	if err != nil {
		t.Fatalf("after closing a shape's only subscriber: %v", err)
	}
	b.exec(t, `INSERT INTO items VALUES (1, 'open', 1)`)
	b.quiet(t, marker, 1, []*replica{rep})
	b.check(t, []*replica{rep})
}
