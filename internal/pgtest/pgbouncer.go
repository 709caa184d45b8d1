package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPgBouncer is wrapped by StartPgBouncer when the pgbouncer binary is
// missing; the wrapping message says how to install it.
var ErrNoPgBouncer = errors.New("pgtest: pgbouncer not found (apt-get install pgbouncer)")

// Pool modes of PgBouncer for StartPgBouncer.
const (
	PoolSession     = "session"
	PoolTransaction = "transaction"
)

// pgBouncerPath is where Debian installs the binary; PATH is tried first.
const pgBouncerPath = "/usr/sbin/pgbouncer"

// PgBouncer is a PgBouncer process in front of a Server, owned by the
// test: it listens on 127.0.0.1 on a free port and forwards every
// database name to the server as user postgres. Its methods are safe for
// concurrent use.
type PgBouncer struct {
	port    int
	dir     string
	logPath string
	proc    *process
}

// StartPgBouncer starts pgbouncer in pool mode mode (PoolSession or
// PoolTransaction) in front of srv, a server made by Start, and returns
// once it accepts connections, within ctx (a minute when ctx has no
// deadline). When running as root it runs pgbouncer as the user the
// server runs as: pgbouncer refuses root. When the binary is missing the
// error wraps ErrNoPgBouncer. The caller must Close it.
func StartPgBouncer(ctx context.Context, srv *Server, mode string) (*PgBouncer, error) {
	if srv.external != nil {
		return nil, fmt.Errorf("pgtest: StartPgBouncer: %w", ErrExternal)
	}
	if mode != PoolSession && mode != PoolTransaction {
		return nil, fmt.Errorf("pgtest: StartPgBouncer: pool mode %q is neither %q nor %q", mode, PoolSession, PoolTransaction)
	}
	bin, err := findPgBouncer()
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	b := &PgBouncer{dir: dir, logPath: filepath.Join(dir, "pgbouncer.log")}
	if err := b.prepare(srv); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for range startAttempts {
		if b.port, err = freePort(); err != nil {
			break
		}
		if err = b.launch(ctx, bin, srv, mode); err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

// RequirePgBouncer starts pgbouncer in front of srv for the test and
// closes it in t.Cleanup. Like Require, it skips the test when srv is nil
// or pgbouncer is missing, and fails it instead when CI=true.
func RequirePgBouncer(t testing.TB, srv *Server, mode string) *PgBouncer {
	t.Helper()
	srv = Require(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := StartPgBouncer(ctx, srv, mode)
	switch {
	case errors.Is(err, ErrNoPgBouncer) && !inCI():
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// findPgBouncer returns the pgbouncer binary: on PATH, else Debian's.
func findPgBouncer() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat(pgBouncerPath); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return pgBouncerPath, nil
	}
	return "", fmt.Errorf("%w (looked on PATH and at %s)", ErrNoPgBouncer, pgBouncerPath)
}

// prepare makes the directory reachable for the server's user and creates
// the log file, owned by that user.
func (b *PgBouncer) prepare(srv *Server) error {
	if err := os.Chmod(b.dir, 0o755); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := srv.as.checkTraversable(b.dir); err != nil {
		return err
	}
	if err := os.WriteFile(b.logPath, nil, 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return srv.as.chown(b.logPath)
}

// iniText is pgbouncer's configuration: every database name goes to the
// server as user postgres (auth_type any: the server trusts it), and the
// startup parameters clients such as pgx may send and PgBouncer does not
// track are ignored instead of refused.
func (b *PgBouncer) iniText(srv *Server, mode string) string {
	return fmt.Sprintf(`[databases]
* = host=%s port=%d user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = %s
ignore_startup_parameters = extra_float_digits,options,search_path,statement_timeout,lock_timeout,idle_session_timeout,idle_in_transaction_session_timeout
max_client_conn = 500
default_pool_size = 20
logfile = %s
log_connections = 0
log_disconnections = 0
`, srv.Host(), srv.Port(), b.port, mode, b.logPath)
}

// launch writes the configuration for b.port, starts pgbouncer and waits
// until it accepts connections. On failure the process is gone.
func (b *PgBouncer) launch(ctx context.Context, bin string, srv *Server, mode string) error {
	ini := filepath.Join(b.dir, "pgbouncer.ini")
	if err := os.WriteFile(ini, []byte(b.iniText(srv, mode)), 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	logFile, err := os.OpenFile(b.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	cmd := exec.Command(bin, ini)
	cmd.Dir = b.dir
	// Startup errors go to stderr before the log file is open.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: srv.as.credential(), Pdeathsig: syscall.SIGTERM, Setpgid: true}
	p, err := startProcess(cmd)
	logFile.Close()
	if err != nil {
		return fmt.Errorf("pgtest: starting pgbouncer: %w", err)
	}
	b.proc = p
	if err := b.waitReady(ctx); err != nil {
		_ = b.stop()
		return err
	}
	return nil
}

// waitReady polls connections through pgbouncer until one succeeds.
func (b *PgBouncer) waitReady(ctx context.Context) error {
	var lastErr error
	for {
		select {
		case <-b.proc.done:
			return fmt.Errorf("pgtest: pgbouncer exited during startup (%v); log:\n%s", b.proc.err, b.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("pgtest: pgbouncer not ready: %w (last connection error: %v); log:\n%s", ctx.Err(), lastErr, b.LogTail(20))
		case <-time.After(pollInterval):
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, b.URL("postgres"))
		if err == nil {
			err = conn.Close(cctx)
		}
		cancel()
		if lastErr = err; err == nil {
			return nil
		}
	}
}

// URL returns a connection URL for database dbname through pgbouncer.
func (b *PgBouncer) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Via returns dbURL, a URL of the server behind b, pointed at b instead:
// same database and parameters.
func (b *PgBouncer) Via(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(fmt.Sprintf("pgtest: PgBouncer.Via: %v", err))
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	return u.String()
}

// Port returns the port pgbouncer listens on.
func (b *PgBouncer) Port() int { return b.port }

// LogTail returns the last n lines of pgbouncer's log.
func (b *PgBouncer) LogTail(n int) string {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Close stops pgbouncer (SIGTERM, an immediate shutdown, then SIGKILL
// after closeStepTimeout) and removes its files. It returns once the
// process has been reaped; a second call does nothing.
func (b *PgBouncer) Close() error {
	err := b.stop()
	if rerr := os.RemoveAll(b.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: removing %s: %w", b.dir, rerr))
	}
	return err
}

func (b *PgBouncer) stop() error {
	p := b.proc
	if p == nil || p.exited() {
		return nil
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("pgtest: signalling pgbouncer: %w", err)
	}
	timer := time.NewTimer(closeStepTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgtest: killing pgbouncer: %w", err)
	}
	<-p.done
	return errors.New("pgtest: pgbouncer had to be killed")
}
