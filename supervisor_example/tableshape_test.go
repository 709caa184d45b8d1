package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// openFiltered opens the filtered rows stream of demo.orders for where.
func openFiltered(t *testing.T, b *bundle, where string) <-chan frame {
	t.Helper()
	return openStream(t, b.ts.Client(), b.ts.URL+"/api/tables/demo/orders/shape?where="+url.QueryEscape(where)).frames
}

// next returns the next frame other than stats, failing after 10 s.
func next(t *testing.T, frames <-chan frame) frame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the stream ended")
			}
			if f.event != "stats" {
				return f
			}
		case <-timeout:
			t.Fatal("no frame within 10 s")
		}
	}
}

// TestFilteredRows: the table view's filter stream sends the rows
// PostgreSQL's SELECT with the same WHERE returns, then an UPDATE that
// moves a row out as a delete and one that moves a row in as an insert,
// says how many shapes are live, and refuses bad WHERE text with its
// position and tables that are not watched with 404.
func TestFilteredRows(t *testing.T) {
	for _, wal := range []bool{false, true} {
		name := map[bool]string{false: "notify", true: "wal"}[wal]
		t.Run(name, func(t *testing.T) {
			b := setup(t, setupOptions{wal: wal})
			b.waitReady(t)
			b.exec(t, `INSERT INTO demo.orders (amount_cents, status) SELECT g * 100, CASE WHEN g % 3 = 0 THEN 'open' ELSE 'paid' END FROM generate_series(1, 12) g`)
			const where = "status = 'open' AND amount_cents >= 600"
			want := strings.Fields(b.scalar(t, `SELECT coalesce(string_agg(id::text, ' ' ORDER BY id), '') FROM demo.orders WHERE `+where))
			if len(want) == 0 {
				t.Fatal("the fixture has no matching row")
			}

			frames := openFiltered(t, b, where)
			if f := next(t, frames); f.event != "shape" || !strings.Contains(f.data, `"key":"id"`) {
				t.Fatalf("first frame %s %s, want the shape keyed by id", f.event, f.data)
			}
			var got []string
			for f := next(t, frames); f.event != "up-to-date"; f = next(t, frames) {
				var r shapeRowFrame
				var row struct {
					Status string `json:"status"`
				}
				var raw struct {
					Row json.RawMessage `json:"row"`
				}
				if f.event != "row" || json.Unmarshal([]byte(f.data), &r) != nil || json.Unmarshal([]byte(f.data), &raw) != nil ||
					json.Unmarshal(raw.Row, &row) != nil || r.Kind != "insert" || row.Status != "open" {
					t.Fatalf("snapshot frame %s %s, want an open order's insert", f.event, f.data)
				}
				got = append(got, r.Key)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("snapshot keys %v, PostgreSQL says %v", got, want)
			}
			for f := range frames {
				if f.event == "stats" {
					var st shapeStatsFrame
					if err := json.Unmarshal([]byte(f.data), &st); err != nil || st.Shapes < 1 || st.Subscriptions < 1 {
						t.Fatalf("stats %s, want a live shape", f.data)
					}
					break
				}
			}

			out := want[0]
			b.exec(t, `UPDATE demo.orders SET status = 'shipped' WHERE id = $1`, out)
			if f := next(t, frames); f.event != "row" || !strings.Contains(f.data, `"kind":"delete"`) || !strings.Contains(f.data, `"key":"`+out+`"`) {
				t.Fatalf("after moving %s out: %s %s, want its delete", out, f.event, f.data)
			}
			in := b.scalar(t, `SELECT min(id)::text FROM demo.orders WHERE status = 'paid' AND amount_cents >= 600`)
			b.exec(t, `UPDATE demo.orders SET status = 'open' WHERE id = $1`, in)
			if f := next(t, frames); f.event != "row" || !strings.Contains(f.data, `"kind":"insert"`) || !strings.Contains(f.data, `"key":"`+in+`"`) {
				t.Fatalf("after moving %s in: %s %s, want its insert", in, f.event, f.data)
			}

			bad := openFiltered(t, b, "status = 'open' AND amount_cents >")
			if f := next(t, bad); f.event != "refused" || !strings.Contains(f.data, "at byte ") {
				t.Fatalf("bad WHERE: %s %s, want an error naming the byte position", f.event, f.data)
			}
			b.exec(t, `CREATE TABLE public.untriggered (id int PRIMARY KEY)`)
			if code, body, _ := get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/api/tables/public/untriggered/shape"); code != http.StatusNotFound {
				t.Fatalf("untriggered table: %d %s, want 404", code, body)
			}
		})
	}
}
