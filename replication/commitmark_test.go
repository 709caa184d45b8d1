package replication_test

import (
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestCommitMarks: a mailbox made WithCommits receives, after a
// transaction's last change, a Committed mark per table the transaction
// changed (on each table topic it holds) and one on TopicAll, with the
// transaction's position, Seq following the changes and the change
// counts, even when the transaction went out in several chunks; a plain
// mailbox receives the changes only.
func TestCommitMarks(t *testing.T) {
	b := setup(t, options{noServe: true})
	conn := connect(t, b.url)
	exec(t, conn, `ALTER PUBLICATION phoenixkitdb ADD TABLE other`)
	marks := pubsub.NewMailbox(1<<14, pubsub.WithCommits())
	t.Cleanup(marks.Close)
	if err := b.src.SubscribeAll(marks); err != nil {
		t.Fatal(err)
	}
	items := pubsub.NewMailbox(1<<14, pubsub.WithCommits())
	t.Cleanup(items.Close)
	if err := b.src.Subscribe(items, "public", "items"); err != nil {
		t.Fatal(err)
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	for _, mb := range []*pubsub.Mailbox{b.mb, marks, items} {
		expectResync(t, mb, pubsub.ReasonStart, 10*time.Second)
	}
	// 1,300 changes: three chunks of the Source.
	exec(t, conn, `BEGIN`,
		`INSERT INTO items (id) SELECT g FROM generate_series(1, 1000) g`,
		`INSERT INTO other (id) SELECT g FROM generate_series(1, 300) g`,
		`COMMIT`,
		`INSERT INTO other (id) VALUES (1000)`)

	var lsn pubsub.LSN
	for i := 1; i <= 1300; i++ {
		ev := next(t, marks, 10*time.Second)
		if ev.Kind != pubsub.TableChanged || ev.Seq != uint64(i) {
			t.Fatalf("event %d: %v (kind %v, seq %d), want change %d", i, ev, ev.Kind, ev.Seq, i)
		}
		lsn = ev.LSN
	}
	all := next(t, marks, 10*time.Second)
	if all.Kind != pubsub.Committed || all.Table != "" || all.Schema != "" || all.LSN != lsn || all.Count != 1300 ||
		all.Seq != 1303 || all.Xid == 0 || all.CommitTime.IsZero() {
		t.Fatalf("TopicAll's mark: %+v", all)
	}
	if ev := next(t, marks, 10*time.Second); ev.Kind != pubsub.TableChanged || ev.Table != "other" || ev.Seq != 1 {
		t.Fatalf("after the mark: %v, want the next transaction's change", ev)
	}
	if ev := next(t, marks, 10*time.Second); ev.Kind != pubsub.Committed || ev.Count != 1 || ev.Seq != 3 {
		t.Fatalf("second transaction's mark: %+v", ev)
	}
	expectNothing(t, marks)

	for i := 1; i <= 1000; i++ {
		if ev := next(t, items, 10*time.Second); ev.Kind != pubsub.TableChanged || ev.Table != "items" {
			t.Fatalf("items event %d: %v (kind %v)", i, ev, ev.Kind)
		}
	}
	if ev := next(t, items, 10*time.Second); ev.Kind != pubsub.Committed || ev.Table != "items" || ev.Schema != "public" ||
		ev.Count != 1000 || ev.Seq != 1301 || ev.LSN != lsn {
		t.Fatalf("items' mark: %+v", ev)
	}
	expectNothing(t, items)

	for i := 1; i <= 1301; i++ {
		if ev := next(t, b.mb, 10*time.Second); ev.Kind != pubsub.TableChanged {
			t.Fatalf("plain mailbox event %d: %v (kind %v)", i, ev, ev.Kind)
		}
	}
	expectNothing(t, b.mb)
	if got := b.src.Stats().Published; got != 1301 {
		t.Fatalf("Published = %d, want the 1301 changes (marks are not counted)", got)
	}
}
