package cluster_test

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// pg is the package's PostgreSQL server, started by TestMain.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	// The test binary started as a cluster instance of its own
	// (throttle_test.go) runs that and nothing else.
	if code, ran := runChild(); ran {
		os.Exit(code)
	}
	os.Exit(pgtest.RunMain(m, &pg))
}
