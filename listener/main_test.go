package listener_test

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// pg is the package's shared server. Tests that stop or restart a server
// start their own with ownServer.
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }
