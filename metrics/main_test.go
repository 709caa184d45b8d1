package metrics_test

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// pg is the package's shared PostgreSQL server.
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }
