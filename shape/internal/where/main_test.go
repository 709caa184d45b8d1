package where_test

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// pg is the package's PostgreSQL server: the oracle of the predicate
// semantics. RunMain checks for leaked goroutines after the run.
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }
