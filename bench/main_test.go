package main

import (
	"os"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// pg is the tests' PostgreSQL server, started by TestMain (which also
// checks that no test leaked a goroutine).
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }
