package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestEventsStreamsChanges: a change made with SQL reaches the SSE stream
// as an "event: change" frame with the right JSON, for each kind of id.
func TestEventsStreamsChanges(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	s := openStream(t, b.ts.Client(), b.ts.URL+"/events")

	var st statusFrame
	s.next(t, 5*time.Second, "first status frame", isEvent("status")).decode(t, &st)
	if st.Module != "db" || !st.Enabled || !st.Listener.Running || !st.Listener.Connected {
		t.Fatalf("first status = %+v, want db enabled, running, connected", st)
	}

	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (1234) RETURNING id::text`)
	var c changeFrame
	s.next(t, 5*time.Second, "orders INSERT", isChange(t, "demo.orders", "INSERT")).decode(t, &c)
	if c.RowID != id || c.At.IsZero() {
		t.Fatalf("change = %+v, want row_id %s and a time", c, id)
	}

	uuid := b.scalar(t, `INSERT INTO demo.users (name, email) VALUES ('Ada', 'ada@example.com') RETURNING uuid::text`)
	s.next(t, 5*time.Second, "users INSERT", isChange(t, "demo.users", "INSERT")).decode(t, &c)
	if c.RowID != uuid {
		t.Fatalf("users row_id = %q, want %q", c.RowID, uuid)
	}
	b.exec(t, `UPDATE demo.users SET name = 'Ada L.' WHERE uuid = $1`, uuid)
	s.next(t, 5*time.Second, "users UPDATE", isChange(t, "demo.users", "UPDATE")).decode(t, &c)
	if c.RowID != uuid {
		t.Fatalf("users UPDATE row_id = %q, want %q", c.RowID, uuid)
	}

	// The per-statement trigger: one frame, no row id.
	b.exec(t, `INSERT INTO demo.events_log (message) SELECT 'm' || g FROM generate_series(1, 3) g`)
	s.next(t, 5*time.Second, "events_log INSERT", isChange(t, "demo.events_log", "INSERT")).decode(t, &c)
	if c.RowID != "" {
		t.Fatalf("events_log row_id = %q, want empty", c.RowID)
	}

	// Raw JSON field names are part of the page's contract.
	f := s.next(t, 2*time.Second, "a status frame", isEvent("status"))
	for _, key := range []string{`"module":"db"`, `"enabled":true`, `"connected":true`, `"reconnects":0`} {
		if !strings.Contains(f.data, key) {
			t.Errorf("status data %s lacks %s", f.data, key)
		}
	}
	s.next(t, 2*time.Second, "a heartbeat comment", isEvent("comment"))
}

// TestEventsResyncAfterTerminate: killing the Listener's backend yields an
// "event: resync" frame, and later changes still arrive.
func TestEventsResyncAfterTerminate(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	s := openStream(t, b.ts.Client(), b.ts.URL+"/events")
	s.next(t, 5*time.Second, "first status frame", isEvent("status"))

	ctx := context.Background()
	// Another, short-lived connection of the app's, with its
	// application_name, was once listed beside the Listener's (under
	// load): wait for the Listener's alone.
	var pids []int
	waitFor(t, 30*time.Second, "exactly one backend, the Listener's", func() bool {
		var err error
		if pids, err = srv.Backends(ctx, b.app); err != nil {
			t.Fatal(err)
		}
		return len(pids) == 1
	})
	if err := srv.TerminateBackend(ctx, pids[0]); err != nil {
		t.Fatal(err)
	}

	var r resyncFrame
	s.next(t, 10*time.Second, "resync", isEvent("resync")).decode(t, &r)
	if r.Reason != string(pubsub.ReasonListen) {
		t.Fatalf("resync reason = %q, want %q", r.Reason, pubsub.ReasonListen)
	}
	// A status frame follows every resync, showing the reconnection.
	var st statusFrame
	s.next(t, 2*time.Second, "status after resync", isEvent("status")).decode(t, &st)
	if st.Listener.Reconnects < 1 || !st.Listener.Connected {
		t.Fatalf("status after resync = %+v, want connected with a reconnect", st.Listener)
	}

	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (1) RETURNING id::text`)
	var c changeFrame
	s.next(t, 5*time.Second, "change after resync", isChange(t, "demo.orders", "INSERT")).decode(t, &c)
	if c.RowID != id {
		t.Fatalf("row_id = %q, want %q", c.RowID, id)
	}
}

// TestEventsFilters: ?table= subscribes to one table's topic, ?op= keeps
// only some operations, bad filters are refused.
func TestEventsFilters(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	c := b.ts.Client()
	users := openStream(t, c, b.ts.URL+"/events?table=demo.users")
	deletes := openStream(t, c, b.ts.URL+"/events?op=delete,TRUNCATE")
	users.next(t, 5*time.Second, "status", isEvent("status"))
	deletes.next(t, 5*time.Second, "status", isEvent("status"))

	// Only one topic per stream: the table stream has no TopicAll.
	if n := b.a.db.PubSub().Subscribers(pubsub.TopicTable("demo", "users")); n != 1 {
		t.Fatalf("subscribers of demo.users topic = %d, want 1", n)
	}

	b.exec(t, `INSERT INTO demo.orders (amount_cents) VALUES (5)`)
	uuid := b.scalar(t, `INSERT INTO demo.users (name, email) VALUES ('Grace', 'g@example.com') RETURNING uuid::text`)
	b.exec(t, `DELETE FROM demo.users WHERE uuid = $1`, uuid)
	b.exec(t, `TRUNCATE demo.events_log`)

	var got changeFrame
	users.next(t, 5*time.Second, "users change", isEvent("change")).decode(t, &got)
	if got.Table != "users" || got.Operation != "INSERT" || got.RowID != uuid {
		t.Fatalf("first change on the users stream = %+v, want users INSERT %s", got, uuid)
	}
	deletes.next(t, 5*time.Second, "delete", isEvent("change")).decode(t, &got)
	if got.Table != "users" || got.Operation != "DELETE" {
		t.Fatalf("first change on the delete stream = %+v, want users DELETE", got)
	}
	deletes.next(t, 5*time.Second, "truncate", isEvent("change")).decode(t, &got)
	if got.Table != "events_log" || got.Operation != "TRUNCATE" {
		t.Fatalf("second change on the delete stream = %+v, want events_log TRUNCATE", got)
	}

	for _, q := range []string{"?table=nodot", "?table=.x", "?op=MERGE", "?op=INSERT,"} {
		if code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/events"+q); code != http.StatusBadRequest {
			t.Errorf("GET /events%s = %d %q, want 400", q, code, body)
		}
	}
}

// TestHealthzAndModuleToggle: /healthz follows the Listener; disabling the
// module through the endpoint stops it (503, status frames say so, the log
// warns that live updates will not work) and enabling brings it back.
func TestHealthzAndModuleToggle(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	c := b.ts.Client()

	code, body, hdr := get(t, c, http.MethodGet, b.ts.URL+"/healthz")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("healthz = %d %s, want 200 JSON", code, body)
	}
	s := openStream(t, c, b.ts.URL+"/events")
	s.next(t, 5*time.Second, "status", isEvent("status"))

	code, body, _ = get(t, c, http.MethodPost, b.ts.URL+"/modules/db/disable")
	if code != http.StatusOK || !strings.Contains(body, `"enabled":false`) {
		t.Fatalf("disable = %d %s", code, body)
	}
	// Disable waits for the children: the Listener is already gone.
	code, body, _ = get(t, c, http.MethodGet, b.ts.URL+"/healthz")
	var st statusFrame
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || st.Enabled || st.Listener.Running || st.Listener.Connected ||
		st.Listener.State != "stopped" || st.Listener.Reconnects != 0 {
		t.Fatalf("healthz after disable = %d %s, want 503, disabled, stopped, no reconnect counted", code, body)
	}
	if pids, _ := srv.Backends(context.Background(), b.app); len(pids) != 0 {
		t.Fatalf("Listener backends after disable = %v, want none", pids)
	}
	s.next(t, 5*time.Second, "status saying disabled", func(f frame) bool {
		var st statusFrame
		f.decode(t, &st)
		return f.event == "status" && !st.Enabled && !st.Listener.Running
	})
	// Subscribing while disabled goes through the Listener's helpers.
	openStream(t, c, b.ts.URL+"/events?table=demo.orders").next(t, 5*time.Second, "status", isEvent("status"))
	waitFor(t, 5*time.Second, "EnsureStarted warning in the log", func() bool {
		return strings.Contains(b.logs.String(), "live updates will not work")
	})
	if code, _, _ := get(t, c, http.MethodPost, b.ts.URL+"/modules/db/disable"); code != http.StatusOK {
		t.Fatalf("second disable = %d, want 200 (idempotent)", code)
	}

	code, body, _ = get(t, c, http.MethodPost, b.ts.URL+"/modules/db/enable")
	if code != http.StatusOK || !strings.Contains(body, `"enabled":true`) {
		t.Fatalf("enable = %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "healthz 200 after enable", func() bool {
		code, _, _ := get(t, c, http.MethodGet, b.ts.URL+"/healthz")
		return code == http.StatusOK
	})
	s.next(t, 5*time.Second, "resync after enable", isEvent("resync"))
	b.exec(t, `INSERT INTO demo.orders (amount_cents) VALUES (7)`)
	s.next(t, 5*time.Second, "change after enable", isChange(t, "demo.orders", "INSERT"))
	// A disable and an enable are not a reconnect. Ready follows the
	// cross-session probe, which may come a moment after the change.
	waitFor(t, 10*time.Second, "state ready after enable", func() bool {
		_, body, _ = get(t, c, http.MethodGet, b.ts.URL+"/healthz")
		return json.Unmarshal([]byte(body), &st) == nil && st.Listener.State == "ready"
	})
	if st.Listener.Reconnects != 0 {
		t.Fatalf("healthz after enable = %s, want no reconnect counted", body)
	}

	if code, _, _ := get(t, c, http.MethodPost, b.ts.URL+"/modules/nope/enable"); code != http.StatusNotFound {
		t.Errorf("enable of an unknown module = %d, want 404", code)
	}
	if code, _, _ := get(t, c, http.MethodGet, b.ts.URL+"/modules/db/disable"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET disable = %d, want 405", code)
	}
}

// TestTablesAndPages: the table list with counts, the pages and assets.
func TestTablesAndPages(t *testing.T) {
	b := setup(t, setupOptions{})
	c := b.ts.Client()
	b.exec(t, `INSERT INTO demo.users (name, email) VALUES ('a', 'a@x'), ('b', 'b@x')`)

	code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/api/tables")
	if code != http.StatusOK {
		t.Fatalf("/api/tables = %d %s", code, body)
	}
	var ts []tableInfo
	if err := json.Unmarshal([]byte(body), &ts); err != nil {
		t.Fatal(err)
	}
	want := []tableInfo{{"demo", "events_log", 0, false}, {"demo", "orders", 0, false}, {"demo", "users", 2, false}}
	if len(ts) != len(want) {
		t.Fatalf("tables = %+v, want %+v", ts, want)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Fatalf("tables = %+v, want %+v", ts, want)
		}
	}

	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `src="/static/app.js"`},
		{"/tables/demo/users", "text/html", `src="/static/app.js"`},
		{"/static/app.js", "text/javascript", "EventSource"},
		{"/static/style.css", "text/css", ".changes"},
	} {
		code, body, hdr := get(t, c, http.MethodGet, b.ts.URL+tc.path)
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), tc.ctype) || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s = %d %q, want 200 %s containing %q", tc.path, code, hdr.Get("Content-Type"), tc.ctype, tc.contains)
		}
	}
	if code, _, _ := get(t, c, http.MethodGet, b.ts.URL+"/nope"); code != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", code)
	}
}

// TestTwoInstancesShareADatabase: two app instances on one database each
// have their own Listener, and PostgreSQL delivers every change to both.
func TestTwoInstancesShareADatabase(t *testing.T) {
	one := setup(t, setupOptions{})
	two := setup(t, setupOptions{url: one.url})
	one.waitConnected(t)
	two.waitConnected(t)
	s1 := openStream(t, one.ts.Client(), one.ts.URL+"/events")
	s2 := openStream(t, two.ts.Client(), two.ts.URL+"/events")
	s1.next(t, 5*time.Second, "status", isEvent("status"))
	s2.next(t, 5*time.Second, "status", isEvent("status"))
	for _, b := range []*bundle{one, two} {
		if pids, err := srv.Backends(context.Background(), b.app); err != nil || len(pids) != 1 {
			t.Fatalf("backends of %s = %v, %v; want its own one", b.app, pids, err)
		}
	}

	id := one.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (3) RETURNING id::text`)
	for i, s := range []*stream{s1, s2} {
		var c changeFrame
		s.next(t, 5*time.Second, "the change", isChange(t, "demo.orders", "INSERT")).decode(t, &c)
		if c.RowID != id {
			t.Fatalf("instance %d: row_id %q, want %q", i+1, c.RowID, id)
		}
	}
}

// TestCrossOriginPostRefused: a POST that a page of another site makes
// through the user's browser cannot disable the module; the page's own
// POSTs (same origin) and tools without browser headers still can.
func TestCrossOriginPostRefused(t *testing.T) {
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	c := b.ts.Client()
	post := func(headers map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.ts.URL+"/modules/db/disable", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Origin": "https://evil.example"}, // an older browser: no Sec-Fetch-Site
	} {
		if code := post(h); code != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v = %d, want 403", h, code)
		}
		if !b.a.reg.Enabled("db") {
			t.Fatalf("a cross-origin POST with %v disabled the module", h)
		}
	}
	if code := post(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": b.ts.URL}); code != http.StatusOK {
		t.Fatalf("same-origin POST = %d, want 200", code)
	}
	if b.a.reg.Enabled("db") {
		t.Fatal("the same-origin POST did not disable the module")
	}
}
