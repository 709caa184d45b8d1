package shapehttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
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
