//go:build chaos

package chaos_test

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

var (
	durationFlag = flag.Duration("chaos.duration", 60*time.Second, "how long the soak injects faults under load")
	seedFlag     = flag.Uint64("chaos.seed", 0, "seed of the soak's randomness (0: from the clock); printed at the start")
	logFlag      = flag.String("chaos.log", "", "also write every log line of the instances, DEBUG included, to this file (the soak's name is appended)")
	sabotageFlag = flag.String("chaos.sabotage", "", "break delivery on purpose to prove the soak catches it: "+
		"drop (one change in 2000 a consumer reads vanishes) or dup (one in 2000 is recorded twice); the soak must then FAIL")
	faultsFlag = flag.String("chaos.faults", "", "comma-separated fault kinds to apply (default: every kind), to reproduce a failure")
)

// pg is the package's server: the NOTIFY soak runs on it (and restarts it).
var pg *pgtest.Server

// TestMain runs the soaks against a throwaway server and checks for
// leaked goroutines afterwards.
func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// ring is the soak's log sink: the last lines, printed when it fails.
type ring = chaos.LogRing
