package pgtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres is wrapped by Start when no PostgreSQL server binaries
// (initdb and postgres) are found; the wrapping message says how to install them.
var ErrNoPostgres = errors.New("pgtest: no PostgreSQL server binaries found")

// ErrExternal is returned by Stop, Resume and Restart on a server made by
// External, which pgtest does not control.
var ErrExternal = errors.New("pgtest: server is external")

// ErrClosed is returned by Resume and Restart after Close.
var ErrClosed = errors.New("pgtest: server is closed")

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Logger receives lifecycle events (start, stop, readiness). nil: discard.
	Logger *slog.Logger

	// Settings are extra postgresql.conf settings such as
	// {"max_connections": "300"}. They are written after pgtest's own
	// settings and so override them; port, listen_addresses and
	// unix_socket_directories are managed by pgtest and should not be set.
	Settings map[string]string

	// BinDir is the directory holding initdb and postgres. "": discover
	// as the package documentation says ("Finding the binaries").
	BinDir string
}

// defaultStartTimeout bounds Start and Resume when their context has no deadline.
const defaultStartTimeout = time.Minute

// startAttempts is how many free ports Start tries when postgres fails to
// bind the one it picked (another process took it in between).
const startAttempts = 5

// Server is a PostgreSQL server for tests: either a throwaway cluster owned by
// this process (Start) or an existing one (External). All methods are safe for
// concurrent use; lifecycle methods (Stop, Resume, Restart, Close) are serialised.
type Server struct {
	logger   *slog.Logger
	host     string
	port     int
	external *url.URL // non-nil for External servers

	binDir  string
	dir     string // temporary directory removed by Close
	dataDir string
	sockDir string
	logPath string
	as      *runAs // nil: run the server as ourselves

	ctl    sync.Mutex // serialises Stop, Resume and Close
	mu     sync.Mutex // guards proc and closed
	proc   *process   // the current postmaster run, nil before the first one
	closed bool
}

// Start makes a throwaway cluster in a new temporary directory (a copy of
// the template cluster, see the package doc) and starts postgres on it:
// trust authentication, fsync, synchronous_commit and full_page_writes
// off, listening on 127.0.0.1 with a free port and on a unix socket in the
// temporary directory, max_connections=200, logging to a file in the
// temporary directory (see LogTail). Options.Settings are applied last.
//
// Start returns once the server accepts connections. ctx bounds initdb (or
// the wait for another process building the template) and the wait for
// readiness (a minute when ctx has no deadline). When the binaries are
// missing, the error wraps ErrNoPostgres. The caller must Close the
// server, which removes every file; a test binary killed before that
// takes the postmaster down with it (see the package doc).
func Start(ctx context.Context, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Checked before making the cluster (initdb takes a second of CPU)
	// that a bad name would not start.
	for name := range opts.Settings {
		if !validSettingName(name) {
			return nil, fmt.Errorf("pgtest: invalid setting name %q", name)
		}
	}
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	as, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{
		logger:  logger,
		host:    "127.0.0.1",
		binDir:  binDir,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "postgres.log"),
		as:      as,
	}
	if err := s.start(ctx, opts.Settings); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// start prepares the directories, runs initdb and launches the postmaster on
// the first free port it can bind.
func (s *Server) start(ctx context.Context, settings map[string]string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if err := s.prepareDirs(); err != nil {
		return err
	}
	if err := s.initCluster(ctx); err != nil {
		return err
	}
	if err := writeSettings(filepath.Join(s.dataDir, "postgresql.conf"), s.sockDir, settings); err != nil {
		return err
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	var err error
	for range startAttempts {
		if s.port, err = freePort(); err != nil {
			return err
		}
		var bindFailed bool
		if bindFailed, err = s.launch(ctx); err == nil || !bindFailed {
			return err
		}
		s.logger.Debug("pgtest: port taken, retrying", "port", s.port)
	}
	return err
}

// prepareDirs makes the temporary directory traversable for the server user
// and creates the data directory (0700, as postgres demands) and the socket
// directory owned by that user, plus the log file.
func (s *Server) prepareDirs() error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.as.checkTraversable(s.dir); err != nil {
		return err
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{s.dataDir, 0o700}, {s.sockDir, 0o755}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if err := s.as.chown(d.path); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return f.Close()
}

// initdb creates the cluster in s.dataDir, its output going to the log file.
func (s *Server) initdb(ctx context.Context) error {
	if err := s.runInitdb(ctx, s.dataDir, s.logPath); err != nil {
		return fmt.Errorf("%w\n%s", err, s.LogTail(20))
	}
	s.logger.Debug("pgtest: initdb done", "dir", s.dataDir, "user", s.userName())
	return nil
}

// runInitdb runs initdb as the server user on the empty directory dataDir,
// appending its output to the file at logPath.
func (s *Server) runInitdb(ctx context.Context, dataDir, logPath string) error {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "initdb"), initdbArgs(dataDir)...)
	cmd.Dir = filepath.Dir(dataDir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = s.sysProcAttr()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w", err)
	}
	return nil
}

// External wraps an existing server given by a postgres:// or postgresql://
// URL. It does not connect. Stop, Resume and Restart return ErrExternal,
// Close does nothing, and URL(dbname) returns rawURL with the database
// replaced.
func External(rawURL string) (*Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("pgtest: external server URL must be postgres://...: %q", rawURL)
	}
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("pgtest: external server URL: %w", err)
	}
	return &Server{
		logger:   slog.New(slog.DiscardHandler),
		host:     cfg.Host,
		port:     int(cfg.Port),
		external: u,
	}, nil
}

// Host returns the server's host: "127.0.0.1" for servers made by Start.
func (s *Server) Host() string { return s.host }

// Port returns the server's TCP port. It stays the same across Stop and Resume.
func (s *Server) Port() int { return s.port }

// DataDir returns the data directory of a server made by Start ("" for External).
func (s *Server) DataDir() string { return s.dataDir }

// URL returns a connection URL for database dbname:
// postgres://postgres@127.0.0.1:PORT/DBNAME?sslmode=disable for servers made
// by Start, the external URL with its database replaced otherwise.
func (s *Server) URL(dbname string) string {
	if s.external != nil {
		u := *s.external
		u.Path, u.RawPath = "/"+dbname, ""
		return u.String()
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Running reports whether the postmaster is running. It is always true for
// External servers, which pgtest cannot observe.
func (s *Server) Running() bool {
	if s.external != nil {
		return true
	}
	p := s.current()
	return p != nil && !p.exited()
}

// Close stops the server (fast shutdown, then immediate if it has not stopped
// within 5 s, then SIGKILL after 5 s more) and removes its temporary
// directory. It returns once the postmaster has exited and its owning
// goroutine has ended. Close is safe to call twice; on External servers it
// does nothing.
func (s *Server) Close() error {
	if s.external != nil {
		return nil
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if closed {
		return nil
	}
	var errs []error
	if p := s.current(); p != nil && !p.exited() {
		errs = append(errs, s.shutdown(p))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: removing %s: %w", s.dir, err))
	}
	return errors.Join(errs...)
}

// current returns the latest postmaster run, or nil.
func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// userName names the user the server runs as, for logs.
func (s *Server) userName() string {
	if s.as == nil {
		return "self"
	}
	return s.as.name
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: finding a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	return port, nil
}

// withDefaultTimeout gives ctx a deadline of defaultStartTimeout if it has none.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultStartTimeout)
}
