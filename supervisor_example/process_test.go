package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// TestProcess builds the program and runs it as a user would: it must
// serve /healthz, stream a change made in its database, and on SIGTERM
// exit 0 within 2 s leaving no PostgreSQL process or session behind.
func TestProcess(t *testing.T) {
	pgtest.Require(t, srv)
	bin := built.binary(t)

	t.Run("embedded", func(t *testing.T) {
		p := startProgram(t, bin, "-demo-interval", "100ms")
		ready := p.waitLog(t, "embedded PostgreSQL ready")
		dbURL, dataDir := ready["url"].(string), ready["data_dir"].(string)
		postmaster := postmasterPID(t, dataDir)

		s := p.checkServes(t, dbURL, "demo", "orders")
		// The demo writer is on by default with the embedded database.
		s.next(t, 5*time.Second, "a demo change", isEvent("change"))

		p.stop(t)
		if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("data dir %s still exists (err %v)", dataDir, err)
		}
		if err := syscall.Kill(postmaster, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("postmaster %d still exists (kill 0: %v)", postmaster, err)
		}
	})

	t.Run("database-url", func(t *testing.T) {
		app := "sx-process-test"
		dbURL := pgtest.NewDB(t, srv)
		userSQL(t, dbURL, `CREATE TABLE public.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, amount_cents int)`)
		p := startProgram(t, bin, "-database-url", pgtest.WithApplicationName(dbURL, app), "-watch", "public.orders")
		p.checkServes(t, dbURL, "public", "orders")
		// The address of /metrics is in the log line that gives the page's.
		metricsURL, _ := p.waitLog(t, "Activity page")["metrics"].(string)
		if code, body, _ := get(t, &http.Client{Timeout: 5 * time.Second}, http.MethodGet, metricsURL); code != http.StatusOK ||
			!strings.Contains(body, `phoenixkitdb_source_connected{channel="phoenix_kit_db_changes",slot="",source="notify"} 1`) {
			t.Errorf("GET %q (the logged metrics address): %d\n%s", metricsURL, code, body)
		}
		if strings.Contains(p.allLogs(), `"msg":"demo:`) {
			t.Errorf("the demo runs on a user's database; it must be off unless -demo:\n%s", p.allLogs())
		}
		if !strings.Contains(p.allLogs(), `"msg":"watch: created","table":"public.orders","object":"trigger`) {
			t.Errorf("the app did not log the trigger it installed:\n%s", p.allLogs())
		}
		if got := userSQL(t, dbURL, `SELECT count(*)::text FROM pg_namespace WHERE nspname = 'demo'`); got != "0" {
			t.Errorf("schema demo was created in a user's database without -demo")
		}
		p.stop(t)
		waitFor(t, 2*time.Second, "no Listener session left", func() bool {
			pids, err := srv.Backends(context.Background(), app)
			return err == nil && len(pids) == 0
		})
	})
}

// program is a running supervisor_example whose JSON logs are collected.
type program struct {
	cmd    *exec.Cmd
	stderr io.ReadCloser
	done   chan struct{} // closed when the log reader has ended
	mu     sync.Mutex
	logs   []map[string]any
	raw    strings.Builder
	seen   chan struct{} // signalled on every log line
	url    string        // the Activity page
	pid    int           // the app's process id (cmd may be make)
}

// startProgram runs bin with a free port and JSON logs; see runProgram.
func startProgram(t *testing.T, bin string, args ...string) *program {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "debug"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutEnv(os.Environ(), "DATABASE_URL")
	return runProgram(t, cmd)
}

// runProgram starts cmd, whose standard error carries the app's JSON logs,
// and waits for the page URL in its log. t.Cleanup kills it if the test did
// not stop it.
func runProgram(t *testing.T, cmd *exec.Cmd) *program {
	t.Helper()
	// An os.Pipe rather than StderrPipe: Wait closes a StderrPipe as soon
	// as the process has exited, which can lose its last log lines (the
	// shutdown's); this one ends when every writer, children included,
	// has closed it.
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = stderr.Close()
		t.Fatal(err)
	}
	p := &program{cmd: cmd, stderr: stderr, done: make(chan struct{}), seen: make(chan struct{}, 1)}
	go p.readLogs(stderr)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
				// make's children (the app and its watchdog) outlive a
				// killed make: end the whole group.
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			_ = cmd.Wait()
		}
		// A child still holding the log pipe (a failed test's) must not
		// hang the run: stop reading after a while.
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("the program's log pipe still open 30 s after it was killed")
		}
		_ = stderr.Close()
		<-p.done
		if t.Failed() {
			t.Logf("program logs:\n%s", p.allLogs())
		}
	})
	ready := p.waitLog(t, "Activity page")
	p.url = ready["url"].(string)
	p.pid = int(ready["pid"].(float64))
	return p
}

func (p *program) readLogs(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var rec map[string]any
		_ = json.Unmarshal(sc.Bytes(), &rec) // non-JSON lines stay in raw only
		p.mu.Lock()
		p.raw.WriteString(sc.Text() + "\n")
		if rec != nil {
			p.logs = append(p.logs, rec)
		}
		p.mu.Unlock()
		select {
		case p.seen <- struct{}{}:
		default:
		}
	}
}

// closeLogs closes the test's end of the log pipe: the app's later
// writes fail as they would after `| tee` died.
func (p *program) closeLogs() { _ = p.stderr.Close() }

func (p *program) allLogs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// waitLog returns the first log record whose message starts with prefix.
func (p *program) waitLog(t *testing.T, prefix string) map[string]any {
	t.Helper()
	// Generous: under make run the program is linked first, and make test
	// loads the machine with every module's tests at once.
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for _, rec := range p.logs {
			if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
				p.mu.Unlock()
				return rec
			}
		}
		p.mu.Unlock()
		select {
		case <-p.seen:
		case <-p.done:
			t.Fatalf("program ended before logging %q", prefix)
		case <-deadline.C:
			t.Fatalf("program did not log %q within 2 minutes", prefix)
		}
	}
}

// checkServes waits for /healthz 200, opens the SSE stream, writes a row
// into schema.table of dbURL (a bigint id and an amount_cents column) and
// sees it arrive. It returns the open stream.
func (p *program) checkServes(t *testing.T, dbURL, schema, table string) *stream {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	waitFor(t, 20*time.Second, "/healthz 200", func() bool {
		resp, err := c.Get(p.url + "healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	s := openStream(t, &http.Client{}, p.url+"events")
	s.next(t, 5*time.Second, "status", isEvent("status"))

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id string
	ins := `INSERT INTO ` + pgx.Identifier{schema, table}.Sanitize() + ` (amount_cents) VALUES (4242) RETURNING id::text`
	if err := conn.QueryRow(ctx, ins).Scan(&id); err != nil {
		t.Fatal(err)
	}
	s.next(t, 5*time.Second, "the test's own change", func(f frame) bool {
		if f.event != "change" {
			return false
		}
		var c changeFrame
		f.decode(t, &c)
		return c.Schema == schema && c.Table == table && c.Operation == "INSERT" && c.RowID == id
	})
	return s
}

// stop sends SIGTERM and checks a clean exit within 2 s.
func (p *program) stop(t *testing.T) {
	t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("program exited with %v, want status 0", err)
		}
		t.Logf("exited 0 in %v after SIGTERM", time.Since(began).Round(time.Millisecond))
	case <-time.After(2 * time.Second):
		_ = p.cmd.Process.Kill()
		<-exited
		t.Fatalf("program did not exit within 2 s of SIGTERM")
	}
	<-p.done
}

// postmasterPID reads the postmaster's pid from its data directory.
func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// userSQL runs one statement on dbURL as the user would with psql and
// returns the first column of its first row as text ("" if none).
func userSQL(t *testing.T, dbURL, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out string
	if rows.Next() {
		if vals, err := rows.Values(); err == nil && len(vals) > 0 {
			out = fmt.Sprint(vals[0])
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
