package replication_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"go.uber.org/goleak"
)

// pg is the package's shared server, started with wal_level=logical.
// Tests that stop or restart a server start their own with ownServer.
var pg *pgtest.Server

// logicalSettings make a server able to stream logical replication.
var logicalSettings = map[string]string{
	"wal_level":             "logical",
	"max_replication_slots": "20",
	"max_wal_senders":       "20",
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts a logical server and hands it to RunMain as an external
// one (RunMain starts servers with default settings only). With
// PHOENIXKITDB_TEST_DATABASE_URL set, that server is used as it is and
// must have wal_level=logical.
func run(m *testing.M) int {
	// A fuzz worker runs only the fuzz function: no server for it.
	flag.Parse()
	fuzzWorker := false
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		fuzzWorker = true
	}
	if os.Getenv(pgtest.EnvDatabaseURL) == "" && !fuzzWorker {
		if _, err := pgtest.FindBinaries(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			srv, err := pgtest.Start(ctx, pgtest.Options{Settings: logicalSettings})
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer srv.Close()
			if err := os.Setenv(pgtest.EnvDatabaseURL, srv.URL("postgres")); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	// The server started above outlives RunMain's leak check.
	return pgtest.RunMain(m, &pg, goleak.IgnoreCurrent())
}
