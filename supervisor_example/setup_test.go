package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"go.uber.org/goleak"
)

// srv is the package's shared PostgreSQL server.
var srv *pgtest.Server

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

// runMain starts the shared server with the embedded demo's settings
// (wal_level=logical, so that WAL-mode tests run on it as NOTIFY ones do)
// and hands it to RunMain as an external one, since RunMain starts servers
// with default settings only. With PHOENIXKITDB_TEST_DATABASE_URL set,
// that server is used as it is; WAL-mode tests need wal_level=logical on it.
func runMain(m *testing.M) int {
	defer built.cleanup()
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	if os.Getenv(pgtest.EnvDatabaseURL) == "" {
		if _, err := pgtest.FindBinaries(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			s, err := pgtest.Start(ctx, pgtest.Options{Settings: logicalSettings})
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer s.Close()
			if err := os.Setenv(pgtest.EnvDatabaseURL, s.URL("postgres")); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	// The server started above outlives RunMain's leak check.
	return pgtest.RunMain(m, &srv, goleak.IgnoreCurrent())
}

// appSeq makes each bundle's Listener application_name unique, so a test
// can find (and terminate) exactly its own Listener backend.
var appSeq atomic.Int64

// bundle is what setup returns: a running app against a fresh database,
// served by an httptest server.
type bundle struct {
	url  string // the database, for the test's own writes
	app  string // the Listener's application_name
	slot string // the replication slot in WAL mode
	a    *app
	ts   *httptest.Server
	logs *pgtest.LogBuffer
	conn *pgx.Conn
}

type setupOptions struct {
	url          string // default: a fresh database
	demo         bool
	noDemoSchema bool // as with -database-url and no -demo
	watch        []watchTable
	demoInterval time.Duration // default 100 ms
	wal          bool          // -source=wal, on a slot of the bundle's own (dropped in t.Cleanup)
	slot         string        // -slot in NOTIFY mode (default phoenixkitdb)
	cluster      bool          // -cluster, on an embedded NATS server of the bundle's own
}

// setup starts an app (demo writer off unless asked) on a fresh database
// with fast status frames and heartbeats; everything stops in t.Cleanup.
func setup(t *testing.T, o setupOptions) *bundle {
	t.Helper()
	b := &bundle{url: o.url, logs: &pgtest.LogBuffer{}}
	if b.url == "" {
		b.url = pgtest.NewDB(t, srv)
	}
	b.app = fmt.Sprintf("sx-test-%d", appSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	logger := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dbCfg := phoenixkitdb.Config{
		Listener: listener.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		WAL:      replication.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
	}
	if o.wal {
		// Slots are per server, not per database: each bundle its own.
		b.slot = strings.ReplaceAll(b.app, "-", "_")
		dbCfg.Source, dbCfg.WAL.Slot = phoenixkitdb.SourceWAL, b.slot
	} else {
		dbCfg.WAL.Slot = o.slot
	}
	natsURL := ""
	if o.cluster {
		ns, err := startNATS(logger)
		if err != nil {
			t.Fatal(err)
		}
		// Registered before the app's clean-up, so it runs after it.
		t.Cleanup(func() {
			if err := ns.close(); err != nil {
				t.Errorf("NATS: %v", err)
			}
		})
		natsURL = ns.url()
	}
	a, err := newApp(ctx, appConfig{
		ClusterNATS:     natsURL,
		ClusterEmbedded: o.cluster,
		DatabaseURL:     pgtest.WithApplicationName(b.url, b.app),
		Logger:          logger,
		DemoSchema:      !o.noDemoSchema,
		Demo:            o.demo,
		Watch:           o.watch,
		DemoInterval:    cmp.Or(o.demoInterval, 100*time.Millisecond),
		DB:              dbCfg,
		StatusEvery:     50 * time.Millisecond,
		HeartbeatEvery:  200 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	b.a = a
	supCtx, stopSup := context.WithCancel(context.Background())
	supDone := a.serve(supCtx)

	b.ts = httptest.NewServer(a.web.routes())
	t.Cleanup(func() {
		b.ts.Close()
		stopSup()
		if err := <-supDone; err != nil && err != context.Canceled {
			t.Errorf("supervisor: %v", err)
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		if _, err := a.dropSlot(dctx); err != nil {
			t.Errorf("dropping the slot: %v", err)
		}
		a.close()
		if t.Failed() {
			t.Logf("app logs:\n%s", b.logs.String())
		}
	})

	b.conn, err = pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.conn.Close(context.Background()) })
	return b
}

// exec runs SQL on the bundle's own connection.
func (b *bundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// scalar runs a query returning one value.
func (b *bundle) scalar(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var v string
	if err := b.conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// waitConnected waits until the change source is connected (LISTENing, or streaming from its slot).
func (b *bundle) waitConnected(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "Listener connected", b.a.db.Changes().Connected)
}

// waitReady waits until changes flow through the change source.
func (b *bundle) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, "change source ready", b.a.db.Changes().Ready)
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get performs a request and returns the status and body.
func get(t *testing.T, c *http.Client, method, u string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// frame is one SSE frame; comments come as event "comment".
type frame struct {
	event string
	data  string
}

func (f frame) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(f.data), v); err != nil {
		t.Fatalf("%s frame data %q: %v", f.event, f.data, err)
	}
}

// stream is an open SSE response read by a goroutine of its own.
type stream struct {
	frames chan frame // closed at EOF
	errc   chan error // the reader's final error (nil at a clean EOF)
}

// openStream opens an SSE stream at u (client c) and checks its headers;
// t.Cleanup closes it and waits for the reader.
func openStream(t *testing.T, c *http.Client, u string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %q %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	s := &stream{frames: make(chan frame, 4096), errc: make(chan error, 1)}
	go func() {
		defer close(s.frames)
		s.errc <- readFrames(ctx, resp.Body, s.frames)
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		for range s.frames {
		}
	})
	return s
}

// readFrames parses SSE from r until EOF or ctx ends. It insists on the
// framing the handler promises: "event:" then one "data:" line then a
// blank line, or a comment line then a blank line, or "retry:".
func readFrames(ctx context.Context, r io.Reader, out chan<- frame) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var cur frame
	var lines int
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if lines == 0 {
				return fmt.Errorf("empty frame")
			}
			if cur.event == "" && cur.data != "" {
				return fmt.Errorf("data without event: %q", cur.data)
			}
			if cur.event != "" {
				select {
				case out <- cur:
				case <-ctx.Done():
					return nil
				}
			}
			cur, lines = frame{}, 0
			continue
		case strings.HasPrefix(line, ":"):
			cur.event = "comment"
			cur.data = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			cur.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if cur.data != "" {
				return fmt.Errorf("two data lines in one frame")
			}
			cur.data = line[len("data: "):]
		case strings.HasPrefix(line, "retry: "):
		default:
			return fmt.Errorf("unexpected SSE line %q", line)
		}
		lines++
	}
	return sc.Err()
}

// next returns the next frame for which match is true, failing after
// timeout or at the end of the stream.
func (s *stream) next(t *testing.T, timeout time.Duration, what string, match func(frame) bool) frame {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatalf("stream ended while waiting for %s: %v", what, <-s.errc)
			}
			if match(f) {
				return f
			}
		case <-timer.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// isEvent matches frames named name.
func isEvent(name string) func(frame) bool {
	return func(f frame) bool { return f.event == name }
}

// isChange matches change frames of table (schema.table) and operation.
func isChange(t *testing.T, table, op string) func(frame) bool {
	return func(f frame) bool {
		if f.event != "change" {
			return false
		}
		var c changeFrame
		f.decode(t, &c)
		return c.Schema+"."+c.Table == table && c.Operation == op
	}
}
