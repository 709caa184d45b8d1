package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestShapeAPI: /v1/shape serves a demo table's rows in Electric's
// protocol, in WAL and NOTIFY mode, and refuses other tables.
func TestShapeAPI(t *testing.T) {
	for _, wal := range []bool{false, true} {
		name := "notify"
		if wal {
			name = "wal"
		}
		t.Run(name, func(t *testing.T) {
			b := setup(t, setupOptions{wal: wal})
			b.waitReady(t)
			id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4200) RETURNING id::text`)
			c := b.ts.Client()
			code, body, h := get(t, c, http.MethodGet, b.ts.URL+"/v1/shape?table=demo.orders&offset=-1&columns=id,amount_cents")
			if code != http.StatusOK || h.Get("electric-handle") == "" || h.Get("electric-offset") == "" {
				t.Fatalf("offset -1: %d %s %v", code, body, h)
			}
			var msgs []struct {
				Key   string             `json:"key"`
				Value map[string]*string `json:"value"`
			}
			if err := json.Unmarshal([]byte(body), &msgs); err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Key != id || *msgs[0].Value["amount_cents"] != "4200" {
				t.Fatalf("snapshot %s, want the order %s", body, id)
			}
			if code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/v1/shape?table=public.untriggered&offset=-1"); code != http.StatusForbidden || !strings.Contains(body, "not served") {
				t.Errorf("another table: %d %s", code, body)
			}
		})
	}
}
