package shapehttp_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// TestChunkedSnapshot: a snapshot larger than ChunkBytes comes in chunks
// that all show the rows at one position of the log, whatever commits
// between the chunk requests; a client that starts meanwhile is given the
// same chunks; both converge without an insert of a row they have or a
// change of one they lack (strict clients).
func TestChunkedSnapshot(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second, ChunkBytes: 512})
	w := newWriter(e, 5)
	w.round(40)
	q := url.Values{"table": {"items"}}
	all := []string{"id", "status", "n", "note", "tenant"}
	ctx := context.Background()
	a := newGoClient(t, e.shapeURL(), q)
	if err := a.poll(ctx); err != nil {
		t.Fatal(err)
	}
	first, got := a.offset, len(a.rows)
	if !strings.HasPrefix(first, "0_") || first == "0_0" || got == 0 {
		t.Fatalf("first answer: offset %q, %d rows; want a chunk's offset and some rows", first, got)
	}
	w.round(20) // rows move in, out and change between a's chunks
	b := newGoClient(t, e.shapeURL(), q)
	if err := b.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if b.offset != first || len(b.rows) != got {
		t.Errorf("a client starting later: offset %q with %d rows; want the same first chunk (%q, %d rows)", b.offset, len(b.rows), first, got)
	}
	want := e.oracle(all, "")
	a.converge(ctx, want, 20*time.Second)
	b.converge(ctx, want, 20*time.Second)
	chunks := 0
	for _, r := range e.requests() {
		if v, _ := url.ParseQuery(r.query); strings.HasPrefix(v.Get("offset"), "0_") {
			chunks++
		}
	}
	if chunks < 4 || a.snapshots != 1 || b.snapshots != 1 || a.refetches+b.refetches != 0 {
		t.Errorf("%d chunk requests, %d and %d snapshots, %d refetches; want several chunks, one snapshot each, no refetch",
			chunks, a.snapshots, b.snapshots, a.refetches+b.refetches)
	}
}
