package shapehttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// testWhere and testParams define the shape of most tests: rows move in
// and out of it as the writer changes status and n.
const testWhere = "status = $1 AND n > $2"

var testParams = []string{"open", "10"}

// shapeParams returns the query of the test shape.
func shapeParams() url.Values {
	q := url.Values{}
	q.Set("table", "items")
	q.Set("where", testWhere)
	q.Set("params[1]", testParams[0])
	q.Set("params[2]", testParams[1])
	q.Set("columns", `"id","status","n"`)
	return q
}

var testCols = []string{"id", "status", "n"}

// TestGoClientConverges: a client following the shape equals PostgreSQL's
// SELECT after every quiet point while random writes move rows in and
// out; it reads the snapshot once and never has to refetch.
func TestGoClientConverges(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second})
	w := newWriter(e, 1)
	w.round(20)
	c := newGoClient(t, e.shapeURL(), shapeParams())
	ctx := context.Background()
	for i := range 8 {
		c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
		if i == 0 {
			if len(c.schema) != 3 || c.schema["id"]["type"] != "int8" || c.schema["id"]["pk_index"] != 0.0 || c.schema["n"]["type"] != "int4" {
				t.Errorf("electric-schema %v", c.schema)
			}
		}
		w.round(15)
	}
	if c.snapshots != 1 || c.refetches != 0 {
		t.Errorf("%d snapshots and %d refetches; want 1 and 0", c.snapshots, c.refetches)
	}
}

// TestSSE: in SSE mode each change is an event and each transaction ends
// with an up-to-date whose global_last_seen_lsn, as "<lsn>_0", is where
// the client reconnects from: no change is read twice or skipped across
// the server's ends of the stream.
func TestSSE(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second, SSETimeout: time.Second})
	w := newWriter(e, 9)
	w.round(10)
	c := newGoClient(t, e.shapeURL(), shapeParams())
	ctx := context.Background()
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	for range 6 {
		w.round(10)
		c.sseConverge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	}
	// Long polling goes on from the offset SSE left.
	w.round(10)
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	if c.snapshots != 1 || c.refetches != 0 {
		t.Errorf("%d snapshots, %d refetches", c.snapshots, c.refetches)
	}
}

// TestGoClientConvergesNotify: in NOTIFY mode (rows fetched by key after
// each change) the client converges with PostgreSQL's SELECT too; offsets
// count on by the log's counter.
func TestGoClientConvergesNotify(t *testing.T) {
	e := setupMode(t, shapehttp.Options{LongPollTimeout: 2 * time.Second}, true)
	w := newWriter(e, 6)
	w.round(20)
	c := newGoClient(t, e.shapeURL(), shapeParams())
	ctx := context.Background()
	for range 6 {
		c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
		w.round(15)
	}
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	if c.refetches != 0 {
		t.Fatalf("%d refetches before any fault", c.refetches)
	}
	// The Listener's backend dies: notifications are lost, the shape
	// starts over (Reset) and its HTTP clients are told to refetch.
	e.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'phoenixkitdb-listener'`)
	w.round(15)
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 30*time.Second)
	if c.refetches < 1 {
		t.Errorf("no must-refetch after the Listener lost notifications")
	}
}

// TestResumeAfterDroppedConnection: a live request cut off mid-wait
// resumes from the client's offset with its handle: no refetch.
func TestResumeAfterDroppedConnection(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 10 * time.Second})
	w := newWriter(e, 2)
	w.round(10)
	c := newGoClient(t, e.shapeURL(), shapeParams())
	ctx := context.Background()
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	// Start a live poll and drop every connection while it waits. A
	// poll that had changes to return at once is just progress: try
	// again. No keep-alive, so the transport cannot retry the request on
	// a fresh connection behind the test's back.
	c.hc = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	dropped := false
	for range 20 {
		select {
		case <-e.liveStarted:
		default:
		}
		errc := make(chan error, 1)
		go func() { errc <- c.poll(ctx) }()
		<-e.liveStarted
		e.srv.CloseClientConnections()
		if err := <-errc; err != nil {
			dropped = true
			break
		}
	}
	if !dropped {
		t.Fatal("no live poll was cut off by the dropped connections")
	}
	w.round(10)
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	if c.snapshots != 1 || c.refetches != 0 {
		t.Errorf("%d snapshots and %d refetches after the drop; want 1 and 0", c.snapshots, c.refetches)
	}
}

// TestRestartMustRefetch: after the server restarts, the client's handle
// is unknown: 409 must-refetch with a new handle, and it converges again.
func TestRestartMustRefetch(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second})
	w := newWriter(e, 3)
	w.round(10)
	c := newGoClient(t, e.shapeURL(), shapeParams())
	ctx := context.Background()
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	old := c.handle
	e.restart()
	w.round(10)
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	if c.refetches != 1 || c.snapshots != 2 || c.handle == old {
		t.Errorf("after a restart: %d refetches, %d snapshots, handle %q (was %q); want 1, 2 and a new handle", c.refetches, c.snapshots, c.handle, old)
	}
}

// TestLogBoundMustRefetch: a client whose offset fell out of the bounded
// log is told to refetch, never served a gap, and converges.
func TestLogBoundMustRefetch(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second, LogBytes: 2000})
	w := newWriter(e, 4)
	w.round(5)
	// A shape of every row, so each change is in its log.
	q := url.Values{"table": {"items"}}
	c := newGoClient(t, e.shapeURL(), q)
	ctx := context.Background()
	all := []string{"id", "status", "n", "note", "tenant"}
	c.converge(ctx, e.oracle(all, ""), 20*time.Second)
	// Another client keeps up with small rounds while the log moves on
	// past c.
	c2 := newGoClient(t, e.shapeURL(), q)
	c2.converge(ctx, e.oracle(all, ""), 20*time.Second)
	for range 30 {
		w.round(1)
		c2.converge(ctx, e.oracle(all, ""), 20*time.Second)
	}
	if c2.refetches != 0 {
		t.Errorf("the client inside the log refetched %d times", c2.refetches)
	}
	oldHandle := c.handle
	if err := c.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if c.refetches != 1 || c.handle == oldHandle {
		t.Fatalf("an offset older than the log: %d refetches, handle %q (was %q); want a 409 with a new handle", c.refetches, c.handle, oldHandle)
	}
	c.converge(ctx, e.oracle(all, ""), 20*time.Second)
	// The handle c2 holds, given out before the rotation, is still good
	// inside the log.
	w.round(1)
	c2.converge(ctx, e.oracle(all, ""), 20*time.Second)
	if c2.refetches != 0 {
		t.Errorf("the client inside the log refetched %d times after the rotation", c2.refetches)
	}
}

// TestRefused: what the handler does not serve is answered with the
// error the client surfaces, never a hang.
func TestRefused(t *testing.T) {
	e := setup(t, shapehttp.Options{
		LongPollTimeout: time.Second,
		MaxWhereBytes:   100,
		Authorize: func(r *http.Request, def *shapehttp.Definition) error {
			switch r.Header.Get("X-Tenant") {
			case "":
				return &shapehttp.Error{Status: http.StatusUnauthorized, Message: "log in first"}
			case "nobody":
				return errors.New("internal reason that must not leak")
			}
			return nil
		},
	})
	get := func(q string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.shapeURL()+"?"+q, nil)
		req.Header.Set("X-Tenant", "a")
		if strings.Contains(q, "tenant=") {
			req.Header.Set("X-Tenant", q[strings.Index(q, "tenant=")+len("tenant="):])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	for _, tc := range []struct {
		q      string
		status int
		in     string
	}{
		{"table=secret&offset=-1", 403, `is not served`},
		{"table=nosuch&offset=-1", 403, `is not served`},
		{"table=items&offset=-1&where=" + url.QueryEscape("status ~ 'x'"), 400, `"where"`},
		{"table=items&offset=-1&where=" + url.QueryEscape("nosuch = 1"), 400, `nosuch`},
		{"table=items&offset=-1&where=" + url.QueryEscape("n > $1") + "&params%5B1%5D=abc", 400, `"where"`},
		{"table=items&offset=-1&where=" + strings.Repeat("n%3D1+OR+", 20) + "n%3D1", 400, `at most 100`},
		{"table=items&offset=-1&columns=id,nosuch", 400, `nosuch`},
		{"table=items&offset=-1&subset__limit=1", 400, `not supported`},
		{"table=items&offset=-1&tenant=", 401, `log in first`},
		{"table=items&offset=-1&tenant=nobody", 403, `shape refused`},
		{"table=items&offset=99999_0&handle=nosuch", 409, `must-refetch`},
	} {
		status, body, h := get(tc.q)
		if status != tc.status || !strings.Contains(body, tc.in) {
			t.Errorf("%s: %d %s; want %d containing %s", tc.q, status, body, tc.status, tc.in)
		}
		if status != 409 && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q on an error", tc.q, h.Get("Cache-Control"))
		}
		if strings.Contains(body, "internal reason") {
			t.Errorf("%s: the hook's error reached the client: %s", tc.q, body)
		}
		if status == 400 {
			var m struct {
				Message string
				Errors  map[string][]string
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Errors) != 1 {
				t.Errorf("%s: 400 body %s is not {message, errors}", tc.q, body)
			}
		}
	}
}

// TestAuthorizeNarrows: a hook that adds the caller's tenant to the WHERE
// clause gives each caller only their rows, answered private so that no
// shared cache mixes callers.
func TestAuthorizeNarrows(t *testing.T) {
	e := setup(t, shapehttp.Options{
		LongPollTimeout: 2 * time.Second,
		Authorize: func(r *http.Request, def *shapehttp.Definition) error {
			def.Where = "(" + def.Where + ") AND tenant = $" + strconv.Itoa(len(def.Params)+1)
			def.Params = append(def.Params, r.Header.Get("X-Tenant"))
			return nil
		},
	})
	w := newWriter(e, 5)
	w.round(10)
	e.exec(`UPDATE items SET tenant = 'b' WHERE id % 2 = 0`)
	narrowed := "(" + testWhere + ") AND tenant = $3"
	ctx := context.Background()
	for _, tenant := range []string{"a", "b"} {
		c := newGoClient(t, e.shapeURL(), shapeParams())
		c.header = http.Header{"X-Tenant": {tenant}}
		want := e.oracle(testCols, narrowed, append(testParams, tenant)...)
		if len(want) == 0 {
			t.Fatalf("tenant %s has no rows: the test proves nothing", tenant)
		}
		c.converge(ctx, want, 20*time.Second)
		if cc := c.lastHeader.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
			t.Errorf("tenant %s: Cache-Control %q on a narrowed shape", tenant, cc)
		}
		w.round(10)
		e.exec(`UPDATE items SET tenant = 'b' WHERE id % 2 = 0`)
		c.converge(ctx, e.oracle(testCols, narrowed, append(testParams, tenant)...), 20*time.Second)
	}
}

// TestLimits: too many shapes and too many clients are answered 429 with
// Retry-After, which the client backs off on; a shape within the limits is
// served meanwhile.
func TestLimits(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 5 * time.Second, MaxShapes: 1, MaxClients: 1})
	ctx := context.Background()
	c := newGoClient(t, e.shapeURL(), shapeParams())
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	other := newGoClient(t, e.shapeURL(), url.Values{"table": {"items"}})
	var he *httpError
	if err := other.poll(ctx); !errors.As(err, &he) || he.status != 429 || he.header.Get("Retry-After") == "" || !strings.Contains(he.body, "too many live shapes") {
		t.Errorf("a second shape past MaxShapes 1: %v", err)
	}
	// One live request in flight fills MaxClients 1.
	select {
	case <-e.liveStarted:
	default:
	}
	errc := make(chan error, 1)
	go func() { errc <- c.poll(ctx) }()
	<-e.liveStarted
	c2 := newGoClient(t, e.shapeURL(), shapeParams())
	if err := c2.poll(ctx); !errors.As(err, &he) || he.status != 429 || !strings.Contains(he.body, "too many clients") {
		t.Errorf("a second request past MaxClients 1: %v", err)
	}
	e.exec(`INSERT INTO items (id, status, n) VALUES (1000, 'open', 20)`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
}

// TestCachingHeaders pins the headers a shared cache relies on: a long
// public lifetime for offset -1 (never up-to-date), a short one for live
// answers with a fresh cursor, ETags that a revalidation answers 304.
func TestCachingHeaders(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: time.Second})
	e.exec(`INSERT INTO items (id, status, n) VALUES (1, 'open', 20)`)
	get := func(q url.Values, h http.Header) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.shapeURL()+"?"+q.Encode(), nil)
		maps.Copy(req.Header, h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	q := shapeParams()
	q.Set("offset", "-1")
	r := get(q, nil)
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746" {
		t.Errorf("offset -1: Cache-Control %q", cc)
	}
	if _, up := r.Header["Electric-Up-To-Date"]; up {
		t.Error("offset -1 answered up-to-date")
	}
	etag := r.Header.Get("ETag")
	if r2 := get(q, http.Header{"If-None-Match": {etag}}); r2.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %s: %d", etag, r2.StatusCode)
	}
	q.Set("offset", r.Header.Get("electric-offset"))
	q.Set("handle", r.Header.Get("electric-handle"))
	r = get(q, nil)
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=60, stale-while-revalidate=300" {
		t.Errorf("catch-up: Cache-Control %q", cc)
	}
	if _, up := r.Header["Electric-Up-To-Date"]; !up {
		t.Error("catch-up at the head not up-to-date")
	}
	q.Set("live", "true")
	q.Set("cursor", "")
	r = get(q, nil)
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=5, stale-while-revalidate=5" || r.Header.Get("electric-cursor") == "" {
		t.Errorf("live: Cache-Control %q, cursor %q", cc, r.Header.Get("electric-cursor"))
	}
	cur := r.Header.Get("electric-cursor")
	q.Set("cursor", cur)
	if r2 := get(q, nil); r2.Header.Get("electric-cursor") == cur {
		t.Errorf("the next live answer repeats cursor %s: a cache would serve the client its own last answer", cur)
	}
	q.Set("handle", "gone")
	q.Del("live")
	q.Del("cursor")
	if r := get(q, nil); r.StatusCode != 409 || r.Header.Get("Cache-Control") != "public, max-age=60, must-revalidate" || r.Header.Get("electric-handle") == "" {
		t.Errorf("unknown handle: %d, Cache-Control %q, handle %q", r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Get("electric-handle"))
	}
}

// TestNewValidates: New refuses a nil Manager, negative limits and a table
// name it cannot parse, with ErrInvalidOptions.
func TestNewValidates(t *testing.T) {
	if _, err := shapehttp.New(nil, shapehttp.Options{}); !errors.Is(err, shapehttp.ErrInvalidOptions) {
		t.Errorf("nil Manager: %v", err)
	}
	e := setup(t, shapehttp.Options{})
	for _, o := range []shapehttp.Options{{MaxShapes: -1}, {LogAge: -time.Second}, {Tables: []string{"a.b.c"}}} {
		if _, err := shapehttp.New(e.m, o); !errors.Is(err, shapehttp.ErrInvalidOptions) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestChangesOnlyAndNow: log=changes_only answers offset -1 without rows
// and then sends only later changes; offset=now starts at the head,
// up-to-date, without rows.
func TestChangesOnlyAndNow(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second})
	e.exec(`INSERT INTO items (id, status, n) VALUES (1, 'open', 20), (2, 'open', 30)`)
	ctx := context.Background()
	q := shapeParams()
	q.Set("log", "changes_only")
	c := newGoClient(t, e.shapeURL(), q)
	c.strict = false
	if err := c.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(c.rows) != 0 {
		t.Fatalf("changes_only snapshot has %d rows", len(c.rows))
	}
	e.exec(`INSERT INTO items (id, status, n) VALUES (3, 'open', 40)`)
	c.converge(ctx, e.oracle(testCols, testWhere+" AND id = 3", testParams...), 20*time.Second)

	now := newGoClient(t, e.shapeURL(), shapeParams())
	now.offset, now.strict = "now", false
	if err := now.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !now.live || len(now.rows) != 0 || now.offset == "now" {
		t.Fatalf("offset=now: live %v, %d rows, offset %s", now.live, len(now.rows), now.offset)
	}
	e.exec(`UPDATE items SET n = 5 WHERE id = 1`) // moves out: a delete of a key this client never had
	e.exec(`INSERT INTO items (id, status, n) VALUES (4, 'open', 50)`)
	now.converge(ctx, e.oracle(testCols, testWhere+" AND id = 4", testParams...), 20*time.Second)
}
