package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// shapeMsg is a message of /v1/shape's body, as the test reads it.
type shapeMsg struct {
	Key     string             `json:"key"`
	Value   map[string]*string `json:"value"`
	Headers map[string]any     `json:"headers"`
}

// TestShapeAPI: /v1/shape serves a demo table's rows in Electric's
// protocol, in WAL and NOTIFY mode, alone and in -cluster mode (where an
// instance that follows the stream answers), then a row inserted after
// the snapshot in a live request, and refuses other tables.
func TestShapeAPI(t *testing.T) {
	for _, c := range []struct {
		name         string
		wal, cluster bool
	}{{"notify", false, false}, {"wal", true, false}, {"cluster-notify", false, true}, {"cluster-wal", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, setupOptions{wal: c.wal, cluster: c.cluster})
			if c.cluster {
				waitFor(t, 60*time.Second, "the cluster's instances ready", func() bool {
					for _, m := range b.a.cluster.members {
						if !m.cl.Follower().Ready() {
							return false
						}
					}
					return true
				})
			} else {
				b.waitReady(t)
			}
			id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4200) RETURNING id::text`)
			hc := b.ts.Client()
			base := b.ts.URL + "/v1/shape?table=demo.orders&columns=id,amount_cents"
			code, body, h := get(t, hc, http.MethodGet, base+"&offset=-1")
			if code != http.StatusOK || h.Get("electric-handle") == "" || h.Get("electric-offset") == "" {
				t.Fatalf("offset -1: %d %s %v", code, body, h)
			}
			var msgs []shapeMsg
			if err := json.Unmarshal([]byte(body), &msgs); err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Key != id || *msgs[0].Value["amount_cents"] != "4200" {
				t.Fatalf("snapshot %s, want the order %s", body, id)
			}
			// Live: the next order arrives through the change path (in
			// -cluster mode the answering instance's follower).
			id2 := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4300) RETURNING id::text`)
			handle, offset := h.Get("electric-handle"), h.Get("electric-offset")
			deadline := time.Now().Add(60 * time.Second)
			for {
				if time.Now().After(deadline) {
					t.Fatalf("order %s never arrived live", id2)
				}
				code, body, h := get(t, hc, http.MethodGet, base+"&live=true&handle="+url.QueryEscape(handle)+"&offset="+url.QueryEscape(offset))
				if code != http.StatusOK {
					t.Fatalf("live: %d %s", code, body)
				}
				var live []shapeMsg
				if err := json.Unmarshal([]byte(body), &live); err != nil {
					t.Fatal(err)
				}
				if got := liveInsert(live, id2); got != nil {
					if *got.Value["amount_cents"] != "4300" {
						t.Fatalf("live insert %v, want amount_cents 4300", got.Value)
					}
					break
				}
				offset = h.Get("electric-offset")
			}
			if code, body, _ := get(t, hc, http.MethodGet, b.ts.URL+"/v1/shape?table=public.untriggered&offset=-1"); code != http.StatusForbidden || !strings.Contains(body, "not served") {
				t.Errorf("another table: %d %s", code, body)
			}
		})
	}
}

// liveInsert returns the insert of key in msgs, nil if there is none.
func liveInsert(msgs []shapeMsg, key string) *shapeMsg {
	for i, m := range msgs {
		if m.Key == key && m.Headers["operation"] == "insert" {
			return &msgs[i]
		}
	}
	return nil
}
