package shapehttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// nodeEvent is one line from testdata/client/client.mjs.
type nodeEvent struct {
	ID       string         `json:"id"`
	Event    string         `json:"event"`
	Rows     map[string]row `json:"rows"`
	UpToDate bool           `json:"upToDate"`
	Handle   string         `json:"handle"`
	Offset   string         `json:"offset"`
	Status   int            `json:"status"`
	JSON     any            `json:"json"`
	Message  string         `json:"message"`
}

// node runs the official client (@electric-sql/client, installed by npm ci
// from testdata/client's lockfile) in a node process driven over stdin and
// stdout.
type node struct {
	t      *testing.T
	stdin  io.WriteCloser
	events chan nodeEvent
	done   chan struct{}

	mu      sync.Mutex
	refetch map[string]int // must-refetch events per client
}

var npmOnce sync.Once
var npmErr error

// startNode installs the client once per run and starts client.mjs; it
// skips the test, saying why, when node or npm is missing.
func startNode(t *testing.T) *node {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("SKIP: %s not found in PATH: the tests against the official client @electric-sql/client need Node.js and npm", bin)
		}
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "client"))
	if err != nil {
		t.Fatal(err)
	}
	npmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = err
			t.Logf("npm ci: %s", out)
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in %s: %v", dir, npmErr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test")
	cmd.Stderr = logWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, stdin: stdin, events: make(chan nodeEvent, 1024), done: make(chan struct{}), refetch: map[string]int{}}
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var ev nodeEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("client.mjs printed %q: %v", sc.Text(), err)
				continue
			}
			if ev.Event == "must-refetch" {
				n.mu.Lock()
				n.refetch[ev.ID]++
				n.mu.Unlock()
				continue
			}
			n.events <- ev
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			cancel()
			<-waited
		}
		cancel()
		<-n.done
	})
	return n
}

// send writes one command.
func (n *node) send(cmd map[string]any) {
	n.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		n.t.Fatal(err)
	}
}

// refetches returns the must-refetch events client id received.
func (n *node) refetches(id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.refetch[id]
}

// converge waits until client id is up to date with rows equal to want.
func (n *node) converge(id string, want map[string]row, timeout time.Duration) {
	n.t.Helper()
	n.send(map[string]any{"cmd": "rows", "id": id})
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var last nodeEvent
	for {
		select {
		case ev := <-n.events:
			switch {
			case ev.ID != id:
			case ev.Event == "error":
				n.t.Fatalf("client %s: error %d %v %s", id, ev.Status, ev.JSON, ev.Message)
			case ev.Event == "rows":
				last = ev
				if ev.UpToDate && rowsEqual(ev.Rows, want) {
					return
				}
			}
		case <-deadline.C:
			n.t.Fatalf("client %s did not converge in %v (up to date %v, offset %s):\n%s", id, timeout, last.UpToDate, last.Offset, diffRows(last.Rows, want))
		case <-n.done:
			n.t.Fatal("client.mjs ended")
		}
	}
}

// waitError waits for client id's error event.
func (n *node) waitError(id string, timeout time.Duration) nodeEvent {
	n.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-n.events:
			if ev.ID == id && ev.Event == "error" {
				return ev
			}
			if ev.ID == id && ev.Event == "rows" && len(ev.Rows) > 0 {
				n.t.Fatalf("client %s got rows instead of an error", id)
			}
		case <-deadline.C:
			n.t.Fatalf("client %s: no error in %v", id, timeout)
		case <-n.done:
			n.t.Fatal("client.mjs ended")
		}
	}
}

// chunkRequests counts the requests for a later chunk of a snapshot
// (offset "0_<n>", n > 0) answered so far.
func (e *env) chunkRequests() int {
	n := 0
	for _, r := range e.requests() {
		if v, _ := url.ParseQuery(r.query); strings.HasPrefix(v.Get("offset"), "0_") && v.Get("offset") != "0_0" {
			n++
		}
	}
	return n
}

// snapshotRequests counts the offset=-1 requests answered so far.
func (e *env) snapshotRequests() int {
	n := 0
	for _, r := range e.requests() {
		if strings.Contains(r.query, "offset=-1") {
			n++
		}
	}
	return n
}

// TestOfficialClient: ShapeStream and Shape of @electric-sql/client, by
// long polling and by SSE, with a WHERE clause, params and a column list,
// equal PostgreSQL's SELECT after each quiet point of random writes; they
// resume after dropped connections without refetching; after the server
// restarts they are told to refetch and converge again; a refused table
// and a refused shape reach the client as its errors.
func TestOfficialClient(t *testing.T) {
	n := startNode(t)
	e := setup(t, shapehttpOptions())
	w := newWriter(e, 11)
	w.round(20)
	params := map[string]any{"table": "items", "where": testWhere, "params": testParams, "columns": testCols}
	ids := []string{"poll", "sse"}
	n.send(map[string]any{"cmd": "start", "id": "poll", "url": e.shapeURL(), "params": params})
	n.send(map[string]any{"cmd": "start", "id": "sse", "url": e.shapeURL(), "params": params, "liveSse": true})
	quiet := func(rounds int) {
		for range rounds {
			want := e.oracle(testCols, testWhere, testParams...)
			for _, id := range ids {
				n.converge(id, want, 30*time.Second)
			}
			w.round(10)
		}
		want := e.oracle(testCols, testWhere, testParams...)
		for _, id := range ids {
			n.converge(id, want, 30*time.Second)
		}
	}
	quiet(4)
	if s := e.snapshotRequests(); s != 2 {
		t.Errorf("%d offset=-1 requests for two clients", s)
	}
	if e.chunkRequests() == 0 {
		t.Error("no snapshot came in more than one chunk")
	}
	sseBefore := e.sseRequests()
	if sseBefore == 0 {
		t.Error("the SSE client never asked for SSE")
	}

	// Dropped connections: the clients come back with their offsets. (Two:
	// the client falls back from SSE to long polling after three
	// connections shorter than a second in a row.)
	before := e.snapshotRequests()
	for range 2 {
		e.srv.CloseClientConnections()
		w.round(5)
	}
	quiet(2)
	if s := e.snapshotRequests(); s != before {
		t.Errorf("%d offset=-1 requests after dropped connections; want none", s-before)
	}
	for _, id := range ids {
		if r := n.refetches(id); r != 0 {
			t.Errorf("client %s refetched %d times after dropped connections", id, r)
		}
	}
	if e.sseRequests() == sseBefore {
		t.Error("the SSE client did not come back with SSE after the dropped connections")
	}

	// A restarted server knows none of the handles: must-refetch, then
	// the clients converge again.
	e.restart()
	w.round(10)
	quiet(2)
	for _, id := range ids {
		if r := n.refetches(id); r < 1 {
			t.Errorf("client %s was not told to refetch after the restart", id)
		}
	}

	// Refused: a table not served, a WHERE clause the server does not
	// support.
	n.send(map[string]any{"cmd": "start", "id": "table", "url": e.shapeURL(), "params": map[string]any{"table": "secret"}})
	if ev := n.waitError("table", 30*time.Second); ev.Status != 403 || !strings.Contains(ev.Message, "not served") {
		t.Errorf("refused table: %+v", ev)
	}
	n.send(map[string]any{"cmd": "start", "id": "where", "url": e.shapeURL(), "params": map[string]any{"table": "items", "where": "status ~ 'x'"}})
	if ev := n.waitError("where", 30*time.Second); ev.Status != 400 || !strings.Contains(ev.Message, "where") {
		t.Errorf("refused shape: %+v", ev)
	}
	for _, id := range append(ids, "table", "where") {
		n.send(map[string]any{"cmd": "stop", "id": id})
	}
}

// shapehttpOptions are the handler options of the official client's test:
// short live timeouts so that the test's quiet points come quickly, and
// small chunks so that snapshots come in several (which the client
// prefetches).
func shapehttpOptions() shapehttp.Options {
	return shapehttp.Options{LongPollTimeout: 3 * time.Second, SSETimeout: 5 * time.Second, ChunkBytes: 200}
}
