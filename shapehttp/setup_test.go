package shapehttp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// testSchema is the tables of every test: items is served, secret exists
// but is not, and both are published.
const testSchema = `
CREATE TABLE items (id bigint PRIMARY KEY, status text NOT NULL, n int, note text, tenant text NOT NULL DEFAULT 'a');
CREATE TABLE secret (id bigint PRIMARY KEY, v text);
CREATE PUBLICATION phoenixkitdb FOR TABLE items, secret;
`

// notifySchema adds, for NOTIFY mode, triggers that send the Listener's
// payloads (schema.table:OPERATION:id) for items.
const notifySchema = `
CREATE FUNCTION items_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r items;
BEGIN
	IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
	PERFORM pg_notify('phoenix_kit_db_changes', 'public.items:' || TG_OP || ':' || r.id);
	RETURN NULL;
END $$;
CREATE TRIGGER items_notify AFTER INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION items_notify();
`

// env is a database with the test schema, a WAL source, a shape Manager
// and a handler behind an HTTP server, all stopped when the test ends.
// The handler can be replaced (restart) while the server keeps its
// address; every request is recorded.
type env struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
	ps   *pubsub.PubSub // the change source's
	m    *shape.Manager
	srv  *httptest.Server
	opts shapehttp.Options

	cur     atomic.Pointer[shapehttp.Handler]
	mu      sync.Mutex
	reqs    []served // answered
	started []string // queries of every request as it arrived
	// liveStarted receives a value as each live request reaches the
	// handler (dropped when nobody reads).
	liveStarted chan struct{}
}

// served is one request the handler answered.
type served struct {
	query  string
	status int
}

// setup starts an env in WAL mode; opts are the handler's options
// (Tables defaults to items).
func setup(t *testing.T, opts shapehttp.Options) *env {
	t.Helper()
	return setupMode(t, opts, false)
}

// setupMode starts an env in WAL mode or, with notify, NOTIFY mode.
func setupMode(t *testing.T, opts shapehttp.Options, notify bool) *env {
	t.Helper()
	srv := pgtest.Require(t, pg)
	e := &env{t: t, url: pgtest.NewDB(t, srv), liveStarted: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, testSchema); err != nil {
		t.Fatal(err)
	}
	if notify {
		if _, err := conn.Exec(ctx, notifySchema); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.Close(ctx)
	if e.pool, err = pgxpool.New(ctx, e.url); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ps := pubsub.New(logger)
	e.ps = ps
	var source interface {
		Serve(context.Context) error
		WaitReady(context.Context) error
	}
	slot := ""
	if notify {
		l, err := listener.New(listener.Config{ConnString: e.url, PubSub: ps, Logger: logger, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		source = l
	} else {
		var b [6]byte
		_, _ = rand.Read(b[:])
		slot = "t_" + hex.EncodeToString(b[:])
		src, err := replication.New(replication.Config{ConnString: e.url, Slot: slot, PubSub: ps, Logger: logger, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		source = src
	}
	if e.m, err = shape.New(shape.Config{Pool: e.pool, Changes: ps, Notify: notify, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, svc := range []interface{ Serve(context.Context) error }{ps, source, e.m} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = svc.Serve(runCtx)
		}()
	}
	if opts.Tables == nil {
		opts.Tables = []string{"items"}
	}
	if opts.Logger == nil {
		opts.Logger = logger
	}
	e.opts = opts
	e.start()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		e.mu.Lock()
		e.started = append(e.started, r.URL.RawQuery)
		e.mu.Unlock()
		if r.URL.Query().Get("live") == "true" {
			select {
			case e.liveStarted <- struct{}{}:
			default:
			}
		}
		e.cur.Load().ServeHTTP(rec, r)
		e.mu.Lock()
		e.reqs = append(e.reqs, served{query: r.URL.RawQuery, status: rec.status})
		e.mu.Unlock()
	}))
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		e.cur.Load().Close()
		stop()
		wg.Wait()
		e.pool.Close()
		if slot != "" {
			dropSlot(t, e.url, slot)
		}
	})
	if err := source.WaitReady(ctx); err != nil {
		t.Fatalf("change source not ready: %v", err)
	}
	return e
}

// start puts a new handler with e.opts in place.
func (e *env) start() {
	h, err := shapehttp.New(e.m, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cur.Store(h)
}

// restart closes the handler and starts a new one on the same address,
// as a restarted server would answer: it knows none of the old handles.
func (e *env) restart() {
	old := e.cur.Load()
	e.start()
	old.Close()
}

// shapeURL is the address of the shape API.
func (e *env) shapeURL() string { return e.srv.URL + "/v1/shape" }

// requests returns the requests answered so far.
func (e *env) requests() []served {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]served(nil), e.reqs...)
}

// sseRequests counts the SSE requests that reached the handler so far.
func (e *env) sseRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, q := range e.started {
		if strings.Contains(q, "live_sse=true") {
			n++
		}
	}
	return n
}

// exec runs SQL on the database.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.pool.Exec(ctx, sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logWriter sends log lines to the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// dropSlot drops the test's replication slot so its database can go.
func dropSlot(t *testing.T, url, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("dropSlot: %v", err)
		return
	}
	defer conn.Close(context.Background())
	for {
		// The walsender may still be exiting: retry until the slot is
		// free or the deadline passes.
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
		if err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}
