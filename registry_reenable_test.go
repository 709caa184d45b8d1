package phoenixkitdb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
	"go.uber.org/goleak"
)

// stuckService refuses a second concurrent Serve the way the Listener and
// the PubSub do (suture.ErrDoNotRestart, so suture drops it for good), and
// once its context ends it does not return before release is closed: a
// child whose stop outlasts a Disable's context.
type stuckService struct {
	name      string
	release   chan struct{}
	runs      chan int // a run began
	cancelled chan int // a run saw its context end
	stops     chan int // a run returned
	n         atomic.Int32
	running   atomic.Bool
	overlaps  atomic.Int32 // Serve calls refused because a run was going on
	once      sync.Once
}

// unstick lets every run return once its context has ended.
func (s *stuckService) unstick() { s.once.Do(func() { close(s.release) }) }

func newStuckService(name string) *stuckService {
	return &stuckService{
		name: name, release: make(chan struct{}),
		runs: make(chan int, 100), cancelled: make(chan int, 100), stops: make(chan int, 100),
	}
}

func (s *stuckService) String() string { return s.name }

func (s *stuckService) Serve(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		s.overlaps.Add(1)
		return fmt.Errorf("%s: already running (%w)", s.name, suture.ErrDoNotRestart)
	}
	run := int(s.n.Add(1))
	defer func() {
		s.running.Store(false)
		s.stops <- run
	}()
	s.runs <- run
	<-ctx.Done()
	s.cancelled <- run
	<-s.release
	return ctx.Err()
}

// stuckModule registers a module "m" with one stuckService on a served
// supervisor, enables it and waits for its first run. The service is
// released at cleanup, before the supervisor stops.
func stuckModule(t *testing.T) (*phoenixkitdb.Registry, *stuckService) {
	t.Helper()
	sup, _ := newSupervisor(t)
	serve(t, sup)
	svc := newStuckService("stuck")
	t.Cleanup(svc.unstick)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(&testModule{key: "m", children: []suture.Service{svc}}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("m"); err != nil {
		t.Fatal(err)
	}
	wait(t, svc.runs, "run 1")
	return reg, svc
}

// disableTimingOut runs DisableContext with a context that ends after d
// and checks that it reports the timeout.
func disableTimingOut(t *testing.T, reg *phoenixkitdb.Registry, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := reg.DisableContext(ctx, "m")
	if !errors.Is(err, phoenixkitdb.ErrStopTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DisableContext with a stuck child = %v, want ErrStopTimeout and DeadlineExceeded", err)
	}
	if reg.Enabled("m") {
		t.Fatal("module still enabled after a timed-out DisableContext")
	}
}

// Enable after a timed-out Disable: the new run waits for the old one
// instead of overlapping it (which would make suture drop the child), also
// when the module is disabled again and re-enabled while the new run waits.
func TestRegistryReenableWaitsForPreviousRun(t *testing.T) {
	reg, svc := stuckModule(t)
	disableTimingOut(t, reg, 20*time.Millisecond)
	wait(t, svc.cancelled, "run 1 to be told to stop")
	if err := reg.Enable("m"); err != nil {
		t.Fatal(err)
	}
	// Disabled again while that run waits for run 1, then enabled again.
	disableTimingOut(t, reg, 20*time.Millisecond)
	if err := reg.Enable("m"); err != nil {
		t.Fatal(err)
	}
	svc.unstick()
	if run := wait(t, svc.stops, "run 1 to return"); run != 1 {
		t.Fatalf("run %d returned, want 1", run)
	}
	if run := wait(t, svc.runs, "the re-enabled child to run"); run != 2 {
		t.Fatalf("run %d began, want 2", run)
	}
	if n := svc.overlaps.Load(); n != 0 {
		t.Fatalf("the child's Serve was called %d times while a run was going on", n)
	}
	if err := reg.Disable("m"); err != nil {
		t.Fatal(err)
	}
	if run := wait(t, svc.stops, "run 2 to return"); run != 2 {
		t.Fatalf("run %d returned, want 2", run)
	}
}

// DisableContext with a context that has no deadline returns as soon as
// the context is cancelled, with an error wrapping ErrStopTimeout and
// context.Canceled.
func TestRegistryDisableContextHonoursCancel(t *testing.T) {
	reg, svc := stuckModule(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- reg.DisableContext(ctx, "m") }()
	// Cancel once the removal reached the child, so that DisableContext is
	// waiting (or about to) when ctx ends.
	wait(t, svc.cancelled, "the child to be told to stop")
	cancel()
	err := wait(t, errc, "DisableContext to return after its context was cancelled")
	if !errors.Is(err, phoenixkitdb.ErrStopTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("DisableContext = %v, want ErrStopTimeout and context.Canceled", err)
	}
	if reg.Enabled("m") {
		t.Fatal("module still enabled")
	}
	svc.unstick()
	wait(t, svc.stops, "the child to return")
}

// Timed-out DisableContext calls leave no goroutine behind once the child
// has stopped (suture's RemoveAndWait leaks one per timed-out call).
func TestRegistryTimedOutDisableLeaksNoGoroutine(t *testing.T) {
	reg, svc := stuckModule(t)
	before := goleak.IgnoreCurrent()
	const calls = 20
	for i := range calls {
		disableTimingOut(t, reg, time.Millisecond)
		if i < calls-1 {
			if err := reg.Enable("m"); err != nil {
				t.Fatal(err)
			}
		}
	}
	svc.unstick()
	wait(t, svc.stops, "run 1 to return")
	// Nothing is enabled, nothing is stopping: a Disable has nothing to wait for.
	if err := reg.Disable("m"); err != nil {
		t.Fatal(err)
	}
	// goleak.Find retries for about half a second; poll longer than that
	// for a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := goleak.Find(before)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after %d timed-out disables: %v", calls, err)
		}
	}
}

// nameHook is a child whose String runs hook the first time it is called
// with the hook armed: suture's Add calls it on the caller's goroutine,
// which lets a test end the supervisor between two Adds of one Enable.
type nameHook struct {
	*testService
	once sync.Once
	hook func()
}

func (n *nameHook) String() string {
	n.once.Do(n.hook)
	return n.testService.String()
}

// Enable on a supervisor that ends halfway through: what was added is
// stopped, the module stays disabled, and Enable says why.
func TestRegistryEnableRollback(t *testing.T) {
	sup, _ := newSupervisor(t)
	stop := serve(t, sup)
	first := newTestService("first")
	second := &nameHook{testService: newTestService("second"), hook: stop}
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(&testModule{key: "m", children: []suture.Service{first, second}}); err != nil {
		t.Fatal(err)
	}
	err := reg.Enable("m")
	if !errors.Is(err, phoenixkitdb.ErrSupervisorStopped) {
		t.Fatalf("Enable on a supervisor that ended halfway = %v, want ErrSupervisorStopped", err)
	}
	if reg.Enabled("m") {
		t.Fatal("module enabled after a rolled-back Enable")
	}
	wait(t, first.runs, "the first child, added before the supervisor ended, to run")
	wait(t, first.stops, "the first child to stop")
	if n := second.n.Load(); n != 0 {
		t.Fatalf("the child that was never added ran %d times", n)
	}
	// Still all or nothing on a second try, and nothing left to disable.
	if err := reg.Enable("m"); !errors.Is(err, phoenixkitdb.ErrSupervisorStopped) {
		t.Fatalf("second Enable = %v, want ErrSupervisorStopped", err)
	}
	if err := reg.Disable("m"); err != nil || reg.Enabled("m") {
		t.Fatalf("Disable after rollback = %v, enabled %v", err, reg.Enabled("m"))
	}
}

// The defect as a host app meets it: a Disable whose context ends while
// the network path is frozen, then Enable. Once the path thaws the
// Listener runs, connects and delivers again.
func TestRegistryReenableAfterTimedOutDisable(t *testing.T) {
	dbURL := pgtest.NewDB(t, pg)
	proxy, err := pgtest.NewProxy(fmt.Sprintf("%s:%d", pg.Host(), pg.Port()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: proxy.URL(dbURL), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := newSupervisor(t)
	serve(t, sup)
	// Thaw before the supervisor stops (cleanups run last-in first-out),
	// whatever the test did.
	t.Cleanup(proxy.Thaw)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(db); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(64)
	defer mb.Close()
	if err := db.Listener().Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	nextOf(t, mb, "Resync", func(ev pubsub.Event) bool { return ev.Kind == pubsub.Resync })
	conn, err := pgx.Connect(context.Background(), dbURL) // direct, not through the proxy
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	send := func(id string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", listener.DefaultChannel, "public.t:INSERT:"+id); err != nil {
			t.Fatal(err)
		}
	}
	send("1")
	nextOf(t, mb, "change 1", func(ev pubsub.Event) bool { return ev.RowID == "1" })

	proxy.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = reg.DisableContext(ctx, "db")
	cancel()
	// The Listener's UNLISTEN cannot be answered through a frozen path, so
	// its Serve outlasts 50 ms: the scenario needs this.
	if !errors.Is(err, phoenixkitdb.ErrStopTimeout) {
		t.Fatalf("DisableContext on a frozen path = %v, want ErrStopTimeout", err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	proxy.Thaw()

	nextOf(t, mb, "Resync from the re-enabled Listener", func(ev pubsub.Event) bool { return ev.Kind == pubsub.Resync })
	if !db.Listener().Running() || !db.Listener().Connected() {
		t.Fatalf("Listener running %v, connected %v after its Resync", db.Listener().Running(), db.Listener().Connected())
	}
	send("2")
	nextOf(t, mb, "change 2 after re-enable", func(ev pubsub.Event) bool { return ev.RowID == "2" })
	if err := reg.Disable("db"); err != nil {
		t.Fatal(err)
	}
}

// nextOf returns the mailbox's next event for which match is true,
// skipping others, or fails the test after 20 s.
func nextOf(t *testing.T, mb *pubsub.Mailbox, what string, match func(pubsub.Event) bool) pubsub.Event {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev := <-mb.C():
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Enable, Disable and Enable again before the supervisor serves: the
// child runs once when it starts, the disabled wrapper never serves it.
func TestRegistryReenableBeforeServing(t *testing.T) {
	sup, _ := newSupervisor(t)
	svc := newStuckService("early")
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(&testModule{key: "m", children: []suture.Service{svc}}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(string) error{reg.Enable, reg.Disable, reg.Enable} {
		if err := step("m"); err != nil {
			t.Fatal(err)
		}
	}
	serve(t, sup)
	t.Cleanup(svc.unstick) // before the supervisor stops
	if run := wait(t, svc.runs, "the child to start with the supervisor"); run != 1 {
		t.Fatalf("run %d, want 1", run)
	}
	svc.unstick()
	if err := reg.Disable("m"); err != nil {
		t.Fatal(err)
	}
	if n, o := svc.n.Load(), svc.overlaps.Load(); n != 1 || o != 0 {
		t.Fatalf("child served %d times, %d refused as overlapping; want 1 and 0", n, o)
	}
}
