package shapehttp_test

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

// pg is the package's shared server, started with wal_level=logical so
// the shapes follow the WAL source.
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts a logical server and hands it to RunMain as an external one
// (RunMain starts servers with default settings only), as the
// replication package's tests do. With PHOENIXKITDB_TEST_DATABASE_URL set,
// that server is used as it is.
func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	if os.Getenv(pgtest.EnvDatabaseURL) == "" {
		if _, err := pgtest.FindBinaries(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
				"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20",
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
