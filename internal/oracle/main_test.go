package oracle_test

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

// pg is the package's server: wal_level=logical and prepared
// transactions on (the workload commits some in two phases).
var pg *pgtest.Server

var seedFlag = flag.Int64("oracle.seed", 0, "seed of the differential tests' workload (0: a new one each run, printed)")

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts the server and hands it to RunMain as an external one
// (RunMain starts servers with default settings only). With
// PHOENIXKITDB_TEST_DATABASE_URL set, that server is used as it is and
// must have wal_level=logical and max_prepared_transactions > 0.
func run(m *testing.M) int {
	flag.Parse()
	fuzzWorker := false
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		fuzzWorker = true
	}
	if os.Getenv(pgtest.EnvDatabaseURL) == "" && !fuzzWorker {
		if _, err := pgtest.FindBinaries(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
				"wal_level":                 "logical",
				"max_replication_slots":     "20",
				"max_wal_senders":           "20",
				"max_prepared_transactions": "10",
			}})
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
	return pgtest.RunMain(m, &pg, goleak.IgnoreCurrent())
}
