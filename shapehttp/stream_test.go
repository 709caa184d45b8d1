package shapehttp_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// TestStreamedSnapshotChunks: the first client of a shape is served the
// snapshot's chunks while the shape package still reads its rows (NOTIFY
// mode: nothing to wait for), encoded as they arrive; a client starting
// once the rows are all there gets the same chunks, byte for byte, at the
// same offsets, every row once.
func TestStreamedSnapshotChunks(t *testing.T) {
	e := setupMode(t, shapehttp.Options{ChunkBytes: 256 << 10, LongPollTimeout: 2 * time.Second}, true)
	e.exec(`ALTER TABLE items DISABLE TRIGGER items_notify`)
	e.exec(`INSERT INTO items (id, status, n, note) SELECT g, 'open', g, repeat('n', g % 50) FROM generate_series(1, 20000) g`)
	e.exec(`ALTER TABLE items ENABLE TRIGGER items_notify`)
	type answer struct {
		offset string
		body   []byte
	}
	sync := func() []answer {
		var out []answer
		offset, handle := "-1", ""
		for range 200 {
			q := url.Values{"table": {"items"}, "offset": {offset}}
			if handle != "" {
				q.Set("handle", handle)
			}
			resp, err := http.Get(e.shapeURL() + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("offset %s: %s %v %s", offset, resp.Status, err, body)
			}
			if _, ok := resp.Header["Electric-Up-To-Date"]; ok {
				return out
			}
			offset, handle = resp.Header.Get("electric-offset"), resp.Header.Get("electric-handle")
			out = append(out, answer{offset, body})
		}
		t.Fatal("no up-to-date after 200 requests")
		return nil
	}
	first := sync()
	second := sync()
	inserts := 0
	for _, a := range first {
		inserts += bytes.Count(a.body, []byte(`"operation":"insert"`))
	}
	if len(first) < 4 || inserts != 20000 {
		t.Fatalf("%d chunks holding %d inserts; want several and 20000", len(first), inserts)
	}
	if len(second) != len(first) {
		t.Fatalf("the later client got %d chunks, the first %d", len(second), len(first))
	}
	for i := range first {
		if first[i].offset != second[i].offset || !bytes.Equal(first[i].body, second[i].body) {
			t.Fatalf("chunk %d: offsets %s and %s, bodies of %d and %d bytes: not the same chunk",
				i, first[i].offset, second[i].offset, len(first[i].body), len(second[i].body))
		}
	}
}
