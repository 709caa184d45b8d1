package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// EnvDatabaseURL names the environment variable that makes RunMain use an
// existing server (External) instead of starting one.
const EnvDatabaseURL = "PHOENIXKITDB_TEST_DATABASE_URL"

// missingLine is the one line RunMain prints when PostgreSQL is missing
// locally (go test shows it only for failing packages or with -v; `make
// test` prints Describe's line first for that reason).
const missingLine = "pgtest: PostgreSQL not found; tests that need it are SKIPPED (" + installHint + ")"

// runMainStartTimeout bounds RunMain's Start.
const runMainStartTimeout = 2 * time.Minute

// dbTimeout bounds NewDB's CREATE and DROP.
const dbTimeout = 30 * time.Second

// inCI reports whether CI is set to a true value (CI=true, as CI systems set
// it); there, a missing PostgreSQL fails instead of skipping.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// RunMain is for TestMain:
//
//	var srv *pgtest.Server
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &srv)) }
//
// If PHOENIXKITDB_TEST_DATABASE_URL is set it uses that server (External);
// otherwise it Starts one. It stores the server in *srv, runs m.Run(),
// closes the server, then, only if the tests passed, runs goleak.Find(opts...)
// and fails the run if goroutines leaked. It returns the exit code.
//
// When PostgreSQL is missing, with CI=true it prints the reason and returns 1
// (a failure, never a skip); otherwise it leaves *srv nil, prints one line
// saying so and still runs the tests, and those using Require or NewDB skip.
// Any other failure to start the server returns 1.
func RunMain(m *testing.M, srv **Server, opts ...goleak.Option) int {
	// A fuzz worker process runs only the fuzz function, never a test that
	// needs the server: starting one per worker would only slow fuzzing.
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	s, err := mainServer()
	switch {
	case err == nil:
	case errors.Is(err, ErrNoPostgres) && !inCI():
		fmt.Fprintln(os.Stderr, missingLine)
	default:
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	*srv = s
	code := m.Run()
	if s != nil {
		if err := s.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: closing the server: %v\n", err)
			code = max(code, 1)
		}
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: goroutines leaked: %v\n", err)
			code = 1
		}
	}
	return code
}

// mainServer returns the server RunMain uses.
func mainServer() (*Server, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return External(u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runMainStartTimeout)
	defer cancel()
	return Start(ctx, Options{})
}

// Describe returns the one line a test run should start with: which
// server RunMain will use, or, when PostgreSQL is missing, that the
// database tests will be skipped (failed with CI=true) and how to install
// it. ok is false in the second case. It runs pg_config at most; it starts
// nothing.
func Describe() (line string, ok bool) {
	if os.Getenv(EnvDatabaseURL) != "" {
		return "pgtest: database tests use the server at $" + EnvDatabaseURL, true
	}
	dir, err := FindBinaries()
	if err == nil {
		return "pgtest: database tests start PostgreSQL from " + dir, true
	}
	why := strings.TrimPrefix(err.Error(), "pgtest: ")
	if inCI() {
		return "pgtest: database tests will FAIL (CI=true): " + why, false
	}
	return "pgtest: database tests will be SKIPPED: " + why, false
}

// Require returns srv, or, when srv is nil (RunMain found no PostgreSQL),
// skips the test, or fails it when CI=true.
func Require(t testing.TB, srv *Server) *Server {
	t.Helper()
	if srv == nil {
		if inCI() {
			t.Fatal("pgtest: no PostgreSQL server, and CI=true forbids skipping (" + installHint + ")")
		}
		t.Skip(missingLine)
	}
	return srv
}

// NewDB creates a fresh, uniquely named database for the test (after
// Require) and returns its URL; t.Cleanup drops it, terminating any session
// still connected. Safe for parallel tests.
func NewDB(t testing.TB, srv *Server) string {
	t.Helper()
	srv = Require(t, srv)
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	u, err := srv.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.LogTail(20))
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		if err := srv.DropDatabase(ctx, name); err != nil {
			t.Errorf("%v", err)
		}
	})
	return u
}

// dbName turns a test name into a unique database name of at most 63 bytes
// (PostgreSQL's identifier limit): "t_" + the sanitised test name + random hex.
func dbName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	return "t_" + b.String() + "_" + hex.EncodeToString(suffix)
}
