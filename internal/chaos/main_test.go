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
	sabotageFlag = flag.String("chaos.sabotage", "", "break delivery on purpose to prove the checker catches it: "+
		"drop (one change in 5000 vanishes), dup (one in 5000 is read twice), noresync (every Resync vanishes); the soak must then FAIL; "+
		"afterresync (the first change after each Resync vanishes) must fail the WAL soak only, whose Resyncs cover only what committed before they were read")
)

// pg is the package's server. The soak restarts it.
var pg *pgtest.Server

// TestMain runs the tests against a throwaway server and checks for
// leaked goroutines afterwards.
func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &pg)) }

// ring is the soak's log sink: the last lines, printed when it fails.
type ring = chaos.LogRing

func newRing(n int) *ring { return chaos.NewLogRing(n, nil) }
