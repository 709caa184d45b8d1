package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

func TestStartURLCreateDatabase(t *testing.T) {
	t.Parallel()
	s := pgtest.Require(t, srv)
	if !s.Running() {
		t.Fatal("shared server not running")
	}
	if os.Getenv(pgtest.EnvDatabaseURL) == "" {
		want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/some_db?sslmode=disable", s.Port())
		if got := s.URL("some_db"); got != want || s.Host() != "127.0.0.1" {
			t.Fatalf("URL = %q, Host = %q; want %q on 127.0.0.1", got, s.Host(), want)
		}
	}
	ctx := t.Context()
	const name = "Mixed Case-db"
	url, err := s.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	var got string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil || got != name {
		t.Fatalf("current_database() = %q, %v; want %q", got, err, name)
	}
	// WITH (FORCE) drops it even with conn still connected; IF EXISTS makes a second drop fine.
	for range 2 {
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateDatabase(ctx, ""); err == nil {
		t.Fatal("CreateDatabase(\"\") succeeded")
	}
}

func TestNewDB(t *testing.T) {
	t.Parallel()
	a, b := pgtest.NewDB(t, srv), pgtest.NewDB(t, srv)
	if a == b {
		t.Fatalf("NewDB returned %q twice", a)
	}
	conn := connect(t, a)
	if n := queryInt(t, conn, "SELECT 1"); n != 1 {
		t.Fatalf("SELECT 1 = %d", n)
	}
}

func TestServerSettings(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgtest.EnvDatabaseURL) != "" {
		t.Skip("external server")
	}
	conn := connect(t, pgtest.Require(t, srv).URL("postgres"))
	for setting, want := range map[string]string{
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
		"max_connections": "200", "listen_addresses": "127.0.0.1",
	} {
		var got string
		if err := conn.QueryRow(t.Context(), "SELECT current_setting($1)", setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", setting, got, err, want)
		}
	}
}

// TestLifecycle drives one private server through Stop, Resume, Restart and Close.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	s := ownServer(t, pgtest.Options{Settings: map[string]string{"max_connections": "123"}})
	ctx := t.Context()
	port := s.Port()
	url, err := s.CreateDatabase(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	if n := queryInt(t, conn, "SELECT current_setting('max_connections')::int"); n != 123 {
		t.Fatalf("max_connections = %d, want 123 from Options.Settings", n)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept(v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	if err := s.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("Running() after Stop")
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a connection survived Stop(fast)")
	}
	if err := s.Stop("fast"); err != nil {
		t.Fatalf("Stop on a stopped server: %v", err)
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.Running() || s.Port() != port {
		t.Fatalf("after Resume: Running=%v port=%d, want true and %d", s.Running(), s.Port(), port)
	}
	if err := s.Resume(ctx); err == nil {
		t.Fatal("Resume on a running server succeeded")
	}
	conn2 := connect(t, url)
	if n := queryInt(t, conn2, "SELECT v FROM kept"); n != 42 {
		t.Fatalf("kept = %d after Stop/Resume, want 42", n)
	}

	if err := s.Restart(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn2.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a connection survived Restart(immediate)")
	}
	// The row was made durable by the fast shutdown's checkpoint; crash recovery keeps it.
	conn3 := connect(t, url)
	if n := queryInt(t, conn3, "SELECT v FROM kept"); n != 42 {
		t.Fatalf("kept = %d after Restart(immediate), want 42", n)
	}
	// A smart shutdown waits for every client to leave.
	waitClosed(t, conn3)
	if s.Port() != port {
		t.Fatalf("port changed across Restart: %d -> %d", port, s.Port())
	}

	if err := s.Restart(ctx, "smart"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop("bogus"); err == nil {
		t.Fatal("Stop(bogus) succeeded")
	}

	dir := filepath.Dir(s.DataDir())
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if s.Running() {
		t.Fatal("Running() after Close")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp dir %s still there after Close: %v", dir, err)
	}
	if err := s.Resume(ctx); !errors.Is(err, pgtest.ErrClosed) {
		t.Fatalf("Resume after Close = %v, want ErrClosed", err)
	}
}

func TestStopContextBoundsSmartShutdown(t *testing.T) {
	t.Parallel()
	s := ownServer(t, pgtest.Options{})
	conn := connect(t, s.URL("postgres"))
	// A smart shutdown waits for conn to leave, so the bound must hit.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.StopContext(ctx, "smart"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("StopContext(smart) with a client = %v, want DeadlineExceeded", err)
	}
	waitClosed(t, conn)
	eventually(t, 10*time.Second, "smart shutdown after the client left", func() bool { return !s.Running() })
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	pgtest.Require(t, srv)
	ctx := t.Context()
	_, err := pgtest.Start(ctx, pgtest.Options{BinDir: t.TempDir()})
	if !errors.Is(err, pgtest.ErrNoPostgres) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Start with an empty BinDir = %v, want ErrNoPostgres with install hint", err)
	}
	if _, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"bad name": "1"}}); err == nil {
		t.Fatal("Start accepted an invalid setting name")
	}
	// postgres refuses the value and exits: the error must carry its log.
	_, err = pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"shared_buffers": "lots"}})
	if err == nil || !strings.Contains(err.Error(), "shared_buffers") {
		t.Fatalf("Start with a bad setting = %v, want an error quoting the server log", err)
	}
}

func TestExternal(t *testing.T) {
	t.Parallel()
	s := pgtest.Require(t, srv)
	ext, err := pgtest.External(s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if ext.Host() != s.Host() || ext.Port() != s.Port() {
		t.Fatalf("External host:port = %s:%d, want %s:%d", ext.Host(), ext.Port(), s.Host(), s.Port())
	}
	if got, want := ext.URL("other"), s.URL("other"); got != want {
		t.Fatalf("External URL = %q, want %q", got, want)
	}
	ctx := t.Context()
	for name, err := range map[string]error{
		"Stop": ext.Stop("fast"), "Resume": ext.Resume(ctx), "Restart": ext.Restart(ctx, "fast"),
	} {
		if !errors.Is(err, pgtest.ErrExternal) {
			t.Errorf("%s = %v, want ErrExternal", name, err)
		}
	}
	if _, err := ext.CreateDatabase(ctx, "external_db"); err != nil {
		t.Fatal(err)
	}
	if err := ext.DropDatabase(ctx, "external_db"); err != nil {
		t.Fatal(err)
	}
	if err := ext.Close(); err != nil || !s.Running() {
		t.Fatalf("External Close = %v, shared server running = %v", err, s.Running())
	}
	if _, err := pgtest.External("host=localhost"); err == nil {
		t.Fatal("External accepted a key=value string")
	}
}

func TestBackendsAndTerminate(t *testing.T) {
	t.Parallel()
	s := pgtest.Require(t, srv)
	ctx := t.Context()
	conn := connect(t, pgtest.NewDB(t, s)+"&application_name=backends_test")
	pid := int(conn.PgConn().PID())

	pids, err := s.Backends(ctx, "backends_test")
	if err != nil || len(pids) != 1 || pids[0] != pid {
		t.Fatalf("Backends = %v, %v; want [%d]", pids, err, pid)
	}
	if err := s.TerminateBackend(ctx, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT 1")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		// The termination may land before the query is even sent; then the
		// error is a closed connection, also fine, but never success.
		if err == nil {
			t.Fatal("query on a terminated backend succeeded")
		}
	}
	eventually(t, 10*time.Second, "terminated backend to leave pg_stat_activity", func() bool {
		pids, err := s.Backends(ctx, "backends_test")
		return err == nil && len(pids) == 0
	})
	if err := s.TerminateBackend(ctx, pid); err == nil {
		t.Fatal("TerminateBackend on a gone pid succeeded")
	}
}

func TestRunsUnprivilegedAsRoot(t *testing.T) {
	t.Parallel()
	s := pgtest.Require(t, srv)
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	if s.DataDir() == "" {
		t.Skip("external server")
	}
	conn := connect(t, s.URL("postgres"))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", conn.PgConn().PID()))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if uid, ok := strings.CutPrefix(line, "Uid:"); ok && strings.Fields(uid)[0] == "0" {
			t.Fatalf("backend runs as root: %s", line)
		}
	}
}
