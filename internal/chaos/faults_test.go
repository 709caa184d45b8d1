//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// The kinds of fault, in the order the summary prints them.
const (
	faultTerminate        = "terminate"         // pg_terminate_backend of a Listener's backend
	faultRestartFast      = "restart_fast"      // server restart, fast shutdown
	faultRestartImmediate = "restart_immediate" // server restart, immediate shutdown (crash recovery)
	faultFreeze           = "freeze"            // one Listener's proxy frozen (mostly past its ProbeInterval)
	faultCut              = "cut"               // one Listener's TCP connection cut
	faultGarbage          = "garbage"           // a burst of invalid NOTIFY payloads
	faultPanic            = "panic"             // a panic in one Listener's Serve, under suture
	faultStop             = "stop"              // one Listener removed from its supervisor, then added back
)

var faultKinds = []string{faultTerminate, faultRestartFast, faultRestartImmediate, faultFreeze, faultCut, faultGarbage, faultPanic, faultStop}

// faultWeights make the cheap faults more frequent than server restarts.
var faultWeights = map[string]int{
	faultTerminate: 3, faultRestartFast: 1, faultRestartImmediate: 1,
	faultFreeze: 2, faultCut: 2, faultGarbage: 2, faultPanic: 2, faultStop: 1,
	faultSlotDrop: 1, faultSlotDropStopped: 1, faultSlotInvalidate: 1,
}

// Bounds for the injector: generous, since other tests share the CPUs.
const (
	faultGapMin    = 300 * time.Millisecond
	faultGapMax    = 2500 * time.Millisecond
	detectTimeout  = 30 * time.Second // a frozen connection must be replaced within this
	panicTimeout   = 30 * time.Second // an armed panic must have happened within this
	stopTimeout    = 10 * time.Second // a removed Listener's Serve must have returned within this
	restartTimeout = 90 * time.Second
)

// injector applies the soak's faults; its FaultLoop decides when and
// which.
type injector struct {
	*chaos.FaultLoop
	srv   *pgtest.Server
	apps  []*app
	dbURL string
	rng   *rand.Rand // the loop's: used from the loop's goroutine only
	wal   bool       // the apps run WAL Sources

	mu        sync.Mutex
	maxDetect time.Duration // slowest frozen-connection detection
	maxStop   time.Duration // slowest Serve return after removal
	garbage   int           // invalid payloads sent (WAL: rows and messages written outside the publication)
	slotDrops map[*app]int  // WAL: slots dropped, by app
}

func newInjector(srv *pgtest.Server, apps []*app, dbURL string, rng *rand.Rand, m soakMode) *injector {
	in := &injector{srv: srv, apps: apps, dbURL: dbURL, rng: rng, wal: m.wal, slotDrops: map[*app]int{}}
	in.FaultLoop = &chaos.FaultLoop{
		Kinds: append([]string(nil), m.kinds...), Weights: faultWeights,
		GapMin: faultGapMin, GapMax: faultGapMax, Rng: rng, Inject: in.inject,
	}
	if m.wal {
		// Ten kinds, some of them slow (a freeze lasts Timeout): short
		// gaps let the 20 s CI run see each once.
		in.FirstGapMax = walFirstGapMax
	}
	return in
}

func (in *injector) inject(kind string) error {
	a := in.apps[in.rng.IntN(len(in.apps))]
	switch kind {
	case faultTerminate:
		return in.terminate(a)
	case faultRestartFast, faultRestartImmediate:
		return in.restart(strings.TrimPrefix(kind, "restart_"))
	case faultFreeze:
		return in.freeze(a)
	case faultCut:
		a.proxy.CutAll()
		return nil
	case faultGarbage:
		if in.wal {
			return in.walGarbage()
		}
		return in.garbageBurst()
	case faultPanic:
		return in.panicOnce(a)
	case faultStop:
		return in.stopStart(a)
	case faultSlotDrop:
		return in.slotDrop(a)
	case faultSlotDropStopped:
		return in.slotDropStopped(a)
	case faultSlotInvalidate:
		return in.slotInvalidate(a)
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// restart stops the server in mode, leaves it down for up to 2 s (so the
// Listeners go through failed connection attempts and backoff), and
// starts it again.
func (in *injector) restart(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	err := in.srv.StopContext(ctx, mode)
	if errors.Is(err, pgtest.ErrExternal) {
		in.Skip(faultRestartFast, "external server")
		in.Skip(faultRestartImmediate, "external server")
		return err
	}
	time.Sleep(time.Duration(in.rng.Int64N(int64(2 * time.Second))))
	// Resume even after a failed stop: the server must be up when the soak ends.
	return errors.Join(err, in.srv.Resume(ctx))
}

// terminate kills the backends of a's Listener.
func (in *injector) terminate(a *app) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pids, err := in.srv.Backends(ctx, a.name)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := in.srv.TerminateBackend(ctx, pid); err != nil {
			return err
		}
	}
	return nil
}

// freeze stops every byte between a's Listener and the server. Usually it
// then waits until the Listener gives the connection up and thaws, so that
// the reconnection (through the same proxy) can succeed: a connection that
// was up and is not given up within detectTimeout is a broken promise. One
// freeze in four is a short stall (under half a ProbeInterval) that the
// connection should survive, delivering late what was held back.
func (in *injector) freeze(a *app) error {
	wasConnected := a.src.Connected()
	start := time.Now()
	a.proxy.Freeze()
	defer a.proxy.Thaw()
	if in.rng.IntN(4) == 0 {
		time.Sleep(probeInterval / 5)
		return nil
	}
	if !wasConnected {
		// Nothing to detect: hold the freeze as long as a detection takes.
		time.Sleep(2 * probeInterval)
		return nil
	}
	if !chaos.WaitFor(detectTimeout, func() bool { return !a.src.Connected() }) {
		in.Problem(fmt.Sprintf("%s: frozen connection not given up within %v", a.name, detectTimeout))
		return nil
	}
	in.mu.Lock()
	in.maxDetect = max(in.maxDetect, time.Since(start))
	in.mu.Unlock()
	return nil
}

// panicOnce makes a's Listener panic inside Serve, to be restarted by
// suture: either in its Connect func (no connection open), or in its
// logger right after LISTEN succeeded (a connection open, a Resync just
// queued). Both are armed, then the connection is cut so that the
// Listener reconnects and trips over one of them.
func (in *injector) panicOnce(a *app) error {
	before := a.panics.Load()
	armed := &a.panicNext
	if in.rng.IntN(2) == 0 {
		armed = &a.panicListening
	}
	armed.Store(true)
	// A cut made while the source sleeps in a reconnect backoff (a fault
	// just before this one) cuts nothing; the source then reconnects
	// without a lost connection, which the WAL source's panicNext waits
	// for. So cut again until the panic has happened.
	seen := func() bool { return a.panics.Load() > before }
	deadline := time.Now().Add(panicTimeout)
	for !seen() && time.Now().Before(deadline) {
		a.proxy.CutAll()
		chaos.WaitFor(2*time.Second, seen)
	}
	if !seen() {
		armed.Store(false)
		in.Problem(fmt.Sprintf("%s: armed panic not seen by the supervisor within %v", a.name, panicTimeout))
	}
	return nil
}

// stopStart removes a's Listener from its supervisor (as Registry.Disable
// does), checks that Serve returned and that its backend went away, then
// adds it back: its mailboxes, still subscribed, must get a Resync for
// what was committed meanwhile.
func (in *injector) stopStart(a *app) error {
	start := time.Now()
	if err := a.sup.RemoveAndWait(a.lToken, stopTimeout); err != nil {
		in.Problem(fmt.Sprintf("%s: Listener not stopped within %v: %v", a.name, stopTimeout, err))
	}
	took := time.Since(start)
	in.mu.Lock()
	in.maxStop = max(in.maxStop, took)
	in.mu.Unlock()
	if a.src.Running() || a.src.Connected() {
		in.Problem(fmt.Sprintf("%s: Listener still running=%v connected=%v after its removal returned",
			a.name, a.src.Running(), a.src.Connected()))
	}
	if !chaos.WaitFor(detectTimeout, func() bool { return len(backends(in.srv, a.name)) == 0 }) {
		in.Problem(fmt.Sprintf("%s: backends %v left after the Listener stopped", a.name, backends(in.srv, a.name)))
	}
	time.Sleep(time.Duration(in.rng.Int64N(int64(time.Second))))
	a.lToken = a.sup.Add(a.src)
	return nil
}

// garbageBurst sends 50 to 500 invalid payloads on the change channel in
// one transaction: every Listener must count and skip them.
func (in *injector) garbageBurst() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := connectWriter(ctx, in.dbURL, "chaos-garbage")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	n := 50 + in.rng.IntN(451)
	payloads := make([]string, n)
	for i := range payloads {
		payloads[i] = garbagePayload(in.rng, i)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, listener.DefaultChannel, payloads); err != nil {
		return err
	}
	in.mu.Lock()
	in.garbage += n
	in.mu.Unlock()
	return nil
}

// garbagePayload returns one payload that ParsePayload must reject.
func garbagePayload(rng *rand.Rand, i int) string {
	switch rng.IntN(8) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("no separator %d", i)
	case 2:
		return fmt.Sprintf("%s:%d", tableA, i) // no row id separator
	case 3:
		return fmt.Sprintf("chaos_a:INSERT:%d", i) // no schema
	case 4:
		return fmt.Sprintf("%s:UPSERT:%d", tableA, i) // unknown operation
	case 5:
		return fmt.Sprintf(".chaos_a:DELETE:%d", i) // empty schema
	case 6:
		return fmt.Sprintf("\x01\x02\x7f\u00e9\u2603\ufffd %d", i) // control and non-ASCII
	default:
		suffix := fmt.Sprintf(" %d", i)
		return strings.Repeat("x", 7999-len(suffix)) + suffix // just under NOTIFY's limit
	}
}
