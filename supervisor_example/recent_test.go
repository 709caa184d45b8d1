package main

import (
	"fmt"
	"testing"
	"time"
)

// A page opened after changes were made is sent the latest of them first,
// oldest first and as its stream filters them, then the live changes.
func TestStreamStartsWithRecentChanges(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitReady(t)
	var ids []string
	for _, cents := range []int{100, 200, 300} {
		ids = append(ids, b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES ($1) RETURNING id::text`, cents))
	}
	user := b.scalar(t, `INSERT INTO demo.users (name, email) VALUES ('Ada', 'ada@example.com') RETURNING uuid::text`)
	waitFor(t, 10*time.Second, "four changes recorded", func() bool {
		_, total := b.a.web.Recent.Snapshot(streamFilter{})
		return total == 4
	})

	history := func(query string) historyFrame {
		t.Helper()
		s := openStream(t, b.ts.Client(), b.ts.URL+"/events"+query)
		var h historyFrame
		s.next(t, 5*time.Second, "the history frame", isEvent("history")).decode(t, &h)
		return h
	}
	rows := func(h historyFrame) []string {
		var out []string
		for _, c := range h.Changes {
			out = append(out, c.Schema+"."+c.Table+":"+c.Operation+":"+c.RowID)
		}
		return out
	}
	want := []string{"demo.orders:INSERT:" + ids[0], "demo.orders:INSERT:" + ids[1], "demo.orders:INSERT:" + ids[2], "demo.users:INSERT:" + user}
	if got := history(""); fmt.Sprint(rows(got)) != fmt.Sprint(want) || got.Total != 4 {
		t.Errorf("history of every table = %v (total %d), want %v (total 4)", rows(got), got.Total, want)
	}
	if got := rows(history("?table=demo.users")); fmt.Sprint(got) != fmt.Sprint(want[3:]) {
		t.Errorf("history of demo.users = %v, want %v", got, want[3:])
	}
	if got := rows(history("?op=DELETE")); len(got) != 0 {
		t.Errorf("history of DELETEs = %v, want none", got)
	}

	// After the history, live changes as before.
	s := openStream(t, b.ts.Client(), b.ts.URL+"/events?table=demo.orders")
	s.next(t, 5*time.Second, "the history frame", isEvent("history"))
	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (400) RETURNING id::text`)
	var c changeFrame
	s.next(t, 5*time.Second, "the live INSERT", isChange(t, "demo.orders", "INSERT")).decode(t, &c)
	if c.RowID != id {
		t.Errorf("first live change = %+v, want the INSERT of %s", c, id)
	}
}

// The ring keeps the latest recentSize changes, oldest first.
func TestRecentRingKeepsTheLatest(t *testing.T) {
	r := newRecent(nil)
	const n = recentSize*2 + 7
	for i := range n {
		r.record(changeFrame{Schema: "s", Table: "t", Operation: "INSERT", RowID: fmt.Sprint(i)})
	}
	got, total := r.Snapshot(streamFilter{})
	if total != n || len(got) != recentSize {
		t.Fatalf("Snapshot = %d frames, total %d; want %d, %d", len(got), total, recentSize, n)
	}
	for i, c := range got {
		if want := fmt.Sprint(n - recentSize + i); c.RowID != want {
			t.Fatalf("frame %d has row id %s, want %s", i, c.RowID, want)
		}
	}
}
