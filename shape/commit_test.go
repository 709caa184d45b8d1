package shape_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestCommitMessages: in WAL mode a subscriber receives a Commit after
// the messages of each transaction it received a message of, and none
// for a transaction that sent it nothing, also for a transaction the
// source hands over in several chunks.
func TestCommitMessages(t *testing.T) {
	b := setup(t, options{})
	b.exec(t, `INSERT INTO items SELECT g, 'open', g FROM generate_series(1, 10) g`)
	open := subscribe(t, b.m, shape.Definition{Table: "items", Where: "status = 'open'"})
	marks := subscribe(t, b.m, shape.Definition{Table: "marks"})
	for _, sub := range []*shape.Subscription{open, marks} {
		for m := recvShape(t, sub); m.Kind != shape.UpToDate; m = recvShape(t, sub) {
		}
	}
	b.exec(t,
		`BEGIN; UPDATE items SET status = 'paid' WHERE id <= 3; INSERT INTO marks VALUES (1); UPDATE items SET n = 0 WHERE id = 4; COMMIT`,
		`UPDATE items SET n = 1 WHERE id = 1`, // not in the shape: nothing for open
		`INSERT INTO marks VALUES (2)`,
		`INSERT INTO items SELECT g, 'open', g FROM generate_series(100, 1299) g`)

	got := func(sub *shape.Subscription, n int) []string {
		var out []string
		for range n {
			m := recvShape(t, sub)
			out = append(out, fmt.Sprintf("%v@%v", m.Kind, m.LSN))
		}
		return out
	}
	o := got(open, 5)
	first := o[0][len("delete@"):]
	want := []string{"delete@" + first, "delete@" + first, "delete@" + first, "update@" + first, "commit@" + first}
	if fmt.Sprint(o) != fmt.Sprint(want) {
		t.Fatalf("open: got %v, want %v", o, want)
	}
	k := got(marks, 4)
	if k[0] != "insert@"+first || k[1] != "commit@"+first || k[3][:7] != "commit@" || k[2][len("insert@"):] != k[3][len("commit@"):] {
		t.Fatalf("marks: got %v", k)
	}
	var last pubsub.LSN
	for i := range 1200 {
		m := recvShape(t, open)
		if m.Kind != shape.Insert || (last != 0 && m.LSN != last) {
			t.Fatalf("insert %d of the big transaction: %v@%v", i, m.Kind, m.LSN)
		}
		last = m.LSN
	}
	if m := recvShape(t, open); m.Kind != shape.Commit || m.LSN != last || m.Seq != 1201 {
		t.Fatalf("after the big transaction: %v@%v seq %d, want its commit after its 1,200 changes, seq 1201 (the table's mark)", m.Kind, m.LSN, m.Seq)
	}
	select {
	case m := <-open.C():
		t.Fatalf("unexpected %v@%v", m.Kind, m.LSN)
	case <-time.After(100 * time.Millisecond):
	}
}

func recvShape(t *testing.T, sub *shape.Subscription) shape.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30 s")
	}
	return shape.Message{}
}
