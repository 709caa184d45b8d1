//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// The kinds of fault, in the order the summary prints them.
const (
	faultTerminate         = "pg_terminate"       // the leader's reading backend terminated
	faultPGFreeze          = "pg_freeze"          // the leader's PostgreSQL path frozen (NOTIFY: until the Listener gives it up)
	faultPGCut             = "pg_cut"             // the leader's PostgreSQL connections cut
	faultPGRestart         = "pg_restart"         // PostgreSQL restarted, fast or immediate shutdown
	faultLeaderStop        = "leader_stop"        // the leader's module disabled in its Registry, enabled again later
	faultLeaderCrash       = "leader_crash"       // both of the leader's paths frozen, then cut: no lease release, no last confirm
	faultLeaderPartition   = "leader_partition"   // the leader's NATS path frozen, then cut, healed later
	faultFollowerPartition = "follower_partition" // a follower's NATS path frozen (half the time cut too) for 0.5 to 2.5 s
	faultNATSRestart       = "nats_restart"       // the NATS server restarted on its file storage
)

var faultKinds = []string{
	faultTerminate, faultPGFreeze, faultPGCut, faultPGRestart,
	faultLeaderStop, faultLeaderCrash, faultLeaderPartition, faultFollowerPartition, faultNATSRestart,
}

var faultWeights = map[string]int{
	faultTerminate: 2, faultPGFreeze: 2, faultPGCut: 2, faultPGRestart: 1,
	faultLeaderStop: 2, faultLeaderCrash: 1, faultLeaderPartition: 2, faultFollowerPartition: 2, faultNATSRestart: 1,
}

// Bounds for the injector: generous, since the machine is shared.
const (
	faultGapMin      = 200 * time.Millisecond
	faultGapMax      = 2 * time.Second
	firstGapMax      = 600 * time.Millisecond // before the first fault of each kind, so that 20 s see each
	leaderWait       = 30 * time.Second       // for a leader to exist before a leader fault
	stepDownTimeout  = 30 * time.Second       // for a cut-off leader to stop leading
	takeoverTimeout  = 30 * time.Second       // past this a takeover counts as a broken promise
	detectTimeout    = 30 * time.Second       // for a frozen Listener connection to be given up
	pgRestartTimeout = 90 * time.Second
)

// selectedKinds returns the fault kinds -chaos.faults names, or every kind.
func selectedKinds() ([]string, error) {
	if *faultsFlag == "" {
		return faultKinds, nil
	}
	var out []string
	for _, k := range strings.Split(*faultsFlag, ",") {
		if !slices.Contains(faultKinds, k) {
			return nil, fmt.Errorf("unknown fault kind %q (kinds: %s)", k, strings.Join(faultKinds, ","))
		}
		out = append(out, k)
	}
	return out, nil
}

// injector applies the soak's faults; its FaultLoop decides when and
// which.
type injector struct {
	*chaos.FaultLoop
	srv *pgtest.Server
	ns  *natsServer
	ins []*instance
	rng *rand.Rand // the loop's: used from the loop's goroutine only
	wal bool

	mu          sync.Mutex
	takeovers   int                      // leader faults that moved the lease
	maxTakeover map[string]time.Duration // slowest of them by fault kind, from the fault to another instance leading
	maxDetect   time.Duration            // slowest frozen-connection detection (NOTIFY)
}

func newInjector(kinds []string, srv *pgtest.Server, ns *natsServer, ins []*instance, rng *rand.Rand, wal bool, log *slog.Logger) *injector {
	in := &injector{srv: srv, ns: ns, ins: ins, rng: rng, wal: wal, maxTakeover: map[string]time.Duration{}}
	in.FaultLoop = &chaos.FaultLoop{
		Kinds: kinds, Weights: faultWeights, GapMin: faultGapMin, GapMax: faultGapMax, FirstGapMax: firstGapMax,
		Rng: rng, Inject: in.inject, Log: log,
	}
	return in
}

func (in *injector) inject(kind string) error {
	switch kind {
	case faultPGRestart:
		return in.pgRestart()
	case faultNATSRestart:
		return in.ns.restart(time.Duration(in.rng.Int64N(int64(time.Second))))
	case faultFollowerPartition:
		return in.followerPartition()
	}
	l := leader(in.ins, leaderWait)
	if l == nil {
		return errors.New("no leader")
	}
	switch kind {
	case faultTerminate:
		return in.terminate(l)
	case faultPGFreeze:
		return in.pgFreeze(l)
	case faultPGCut:
		l.pgProxy.CutAll()
		return nil
	case faultLeaderStop:
		return in.leaderStop(l)
	case faultLeaderCrash:
		return in.leaderCrash(l)
	case faultLeaderPartition:
		return in.leaderPartition(l)
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// terminate kills the leader's backends (its LISTEN or walsender, and a
// Listener's probe if one is open).
func (in *injector) terminate(l *instance) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pids, err := in.srv.Backends(ctx, l.name)
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

// pgFreeze stops every byte between the leader's change source and
// PostgreSQL. The Listener (probing every second) must give the
// connection up, and is thawed once it has, so that its reconnection
// succeeds; one freeze in four is a short stall it should survive. The
// WAL source finds a frozen path only after its Timeout (15 s, not
// settable through the DB's Config): its freeze is a stall of up to 1.5 s,
// ended by a cut half the time.
func (in *injector) pgFreeze(l *instance) error {
	wasReading := l.reading()
	start := time.Now()
	l.pgProxy.Freeze()
	defer l.pgProxy.Thaw()
	if in.wal || in.rng.IntN(4) == 0 || !wasReading {
		time.Sleep(200*time.Millisecond + time.Duration(in.rng.Int64N(int64(1300*time.Millisecond))))
		if in.wal && in.rng.IntN(2) == 0 {
			l.pgProxy.CutAll()
		}
		return nil
	}
	if !chaos.WaitFor(detectTimeout, func() bool { return !l.reading() }) {
		in.Problem(fmt.Sprintf("%s: frozen PostgreSQL connection not given up within %v", l.name, detectTimeout))
		return nil
	}
	in.mu.Lock()
	in.maxDetect = max(in.maxDetect, time.Since(start))
	in.mu.Unlock()
	return nil
}

// pgRestart stops PostgreSQL (fast or immediate), leaves it down up to
// 1 s, and starts it again.
func (in *injector) pgRestart() error {
	mode := "fast"
	if in.rng.IntN(2) == 0 {
		mode = "immediate"
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgRestartTimeout)
	defer cancel()
	err := in.srv.StopContext(ctx, mode)
	if errors.Is(err, pgtest.ErrExternal) {
		return err
	}
	time.Sleep(time.Duration(in.rng.Int64N(int64(time.Second))))
	// Resume even after a failed stop: the server must be up at the end.
	return errors.Join(err, in.srv.Resume(ctx))
}

// leaderStop disables the leader's module in its Registry (a clean stop:
// it drains its relay and releases the lease), waits for another instance
// to lead, and enables it again up to 1.5 s later.
func (in *injector) leaderStop(l *instance) error {
	const kind = faultLeaderStop
	start := time.Now()
	// Disable returns once the module stopped, after its relay drained:
	// the takeover is timed meanwhile.
	disabled := make(chan error, 1)
	go func() { disabled <- l.disable() }()
	in.awaitTakeover(kind, l, start)
	if err := <-disabled; err != nil {
		in.Problem(fmt.Sprintf("%s: Disable: %v", l.name, err))
	}
	time.Sleep(time.Duration(in.rng.Int64N(int64(1500 * time.Millisecond))))
	return l.enable()
}

// leaderCrash cuts the leader off from everything at once, the way a
// crashed process or host looks to the others: both its paths frozen, so
// it neither releases the lease nor confirms its last position to the
// slot. Once it stopped leading (its lease expired on its own clock), the
// frozen connections are cut, which ends its walsender or LISTEN backend
// on the server, and after the takeover its paths heal.
func (in *injector) leaderCrash(l *instance) error {
	const kind = faultLeaderCrash
	start := time.Now()
	l.pgProxy.Freeze()
	l.natsProxy.Freeze()
	defer l.thaw()
	if !chaos.WaitFor(stepDownTimeout, func() bool { return !l.cl.Leading() }) {
		in.Problem(fmt.Sprintf("%s: cut-off leader still leading after %v", l.name, stepDownTimeout))
	}
	l.pgProxy.CutAll()
	l.natsProxy.CutAll()
	in.awaitTakeover(kind, l, start)
	time.Sleep(time.Duration(in.rng.Int64N(int64(time.Second))))
	return nil
}

// leaderPartition cuts the leader off from NATS only: it must stop
// reading PostgreSQL, another instance takes over, and once healed it
// follows again from where it was.
func (in *injector) leaderPartition(l *instance) error {
	const kind = faultLeaderPartition
	start := time.Now()
	l.natsProxy.Freeze()
	defer l.natsProxy.Thaw()
	if !chaos.WaitFor(stepDownTimeout, func() bool { return !l.cl.Leading() }) {
		in.Problem(fmt.Sprintf("%s: leader partitioned from NATS still leading after %v", l.name, stepDownTimeout))
	}
	l.natsProxy.CutAll()
	in.awaitTakeover(kind, l, start)
	time.Sleep(time.Duration(in.rng.Int64N(int64(1500 * time.Millisecond))))
	return nil
}

// followerPartition cuts an instance that does not lead off from NATS for
// 0.5 to 2.5 s: once healed it resumes from its last stream sequence,
// with nothing lost and (checked per source) no Resync.
func (in *injector) followerPartition() error {
	var fs []*instance
	for _, x := range in.ins {
		if !x.cl.Leading() {
			fs = append(fs, x)
		}
	}
	if len(fs) == 0 {
		return errors.New("no follower")
	}
	f := fs[in.rng.IntN(len(fs))]
	f.natsProxy.Freeze()
	defer f.natsProxy.Thaw()
	if in.rng.IntN(2) == 0 {
		f.natsProxy.CutAll()
	}
	time.Sleep(500*time.Millisecond + time.Duration(in.rng.Int64N(int64(2*time.Second))))
	return nil
}

// awaitTakeover waits for an instance other than old to lead and records
// how long that took from start, under kind.
func (in *injector) awaitTakeover(kind string, old *instance, start time.Time) {
	ok := chaos.WaitFor(takeoverTimeout, func() bool {
		for _, x := range in.ins {
			if x != old && x.cl.Leading() {
				return true
			}
		}
		return false
	})
	took := time.Since(start)
	if !ok {
		in.Problem(fmt.Sprintf("no instance took over from %s within %v: %s", old.name, takeoverTimeout, state(in.ins)))
		return
	}
	in.mu.Lock()
	in.takeovers++
	in.maxTakeover[kind] = max(in.maxTakeover[kind], took)
	in.mu.Unlock()
}
