package phoenixkitdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testService reports each run and each stop on buffered channels. Run
// numbers listed in failRuns return an error, in panicRuns they panic.
type testService struct {
	name      string
	runs      chan int
	stops     chan int
	n         atomic.Int32
	failRuns  map[int]bool
	panicRuns map[int]bool
	inner     suture.Service // optional: served after the checks
}

func newTestService(name string) *testService {
	return &testService{name: name, runs: make(chan int, 100), stops: make(chan int, 100)}
}

func (s *testService) String() string { return s.name }

func (s *testService) Serve(ctx context.Context) error {
	run := int(s.n.Add(1))
	s.runs <- run
	defer func() { s.stops <- run }()
	if s.panicRuns[run] {
		panic(fmt.Sprintf("%s: injected panic in run %d", s.name, run))
	}
	if s.failRuns[run] {
		return fmt.Errorf("%s: injected failure in run %d", s.name, run)
	}
	if s.inner != nil {
		return s.inner.Serve(ctx)
	}
	<-ctx.Done()
	return ctx.Err()
}

type testModule struct {
	key      string
	children []suture.Service
}

func (m *testModule) Key() string                { return m.key }
func (m *testModule) Name() string               { return m.key }
func (m *testModule) Version() string            { return "test" }
func (m *testModule) Children() []suture.Service { return m.children }

func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// newSupervisor returns a supervisor with fast restarts and a channel of
// its service terminations.
// failure is a service failure the supervisor reported.
type failure struct {
	service    string
	restarting bool
}

func newSupervisor(t *testing.T) (*suture.Supervisor, chan failure) {
	t.Helper()
	terms := make(chan failure, 100)
	sup := suture.New("test", suture.Spec{
		FailureBackoff: time.Millisecond,
		Timeout:        5 * time.Second,
		EventHook: func(e suture.Event) {
			var f failure
			switch ev := e.(type) {
			case suture.EventServiceTerminate:
				f = failure{ev.ServiceName, ev.Restarting}
			case suture.EventServicePanic:
				f = failure{ev.ServiceName, ev.Restarting}
			default:
				return
			}
			select {
			case terms <- f:
			default:
			}
		},
	})
	return sup, terms
}

func serve(t *testing.T, sup *suture.Supervisor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := sup.ServeBackground(ctx)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		wait(t, errc, "supervisor to stop")
	}
	t.Cleanup(stop)
	return stop
}

func TestRegistryRegister(t *testing.T) {
	sup, _ := newSupervisor(t)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(&testModule{key: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(&testModule{key: "a"}); !errors.Is(err, phoenixkitdb.ErrDuplicateModule) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := reg.Register(nil); !errors.Is(err, phoenixkitdb.ErrInvalidModule) {
		t.Fatalf("nil: %v", err)
	}
	for name, err := range map[string]error{"Enable": reg.Enable("nope"), "Disable": reg.Disable("nope")} {
		if !errors.Is(err, phoenixkitdb.ErrUnknownModule) {
			t.Errorf("%s(unknown) = %v", name, err)
		}
	}
	if reg.Enabled("nope") || reg.Enabled("a") {
		t.Fatal("Enabled true for an unknown or disabled module")
	}
	if got := reg.Modules(); len(got) != 1 || got[0].Key() != "a" {
		t.Fatalf("Modules() = %v", got)
	}
}

func TestRegistryEnableDisableOnLiveSupervisor(t *testing.T) {
	sup, _ := newSupervisor(t)
	serve(t, sup)
	a, b := newTestService("a"), newTestService("b")
	other := newTestService("other")
	sup.Add(other)
	wait(t, other.runs, "other to run")

	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	if err := reg.Register(&testModule{key: "m", children: []suture.Service{a, b}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := reg.Enable("m"); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, a.runs, "a to run")
	wait(t, b.runs, "b to run")
	if !reg.Enabled("m") {
		t.Fatal("Enabled false after Enable")
	}
	if err := reg.Disable("m"); err != nil {
		t.Fatal(err)
	}
	// Disable waited: both stops are already reported.
	for _, s := range []*testService{a, b} {
		select {
		case <-s.stops:
		default:
			t.Fatalf("%s still running after Disable returned", s.name)
		}
	}
	if err := reg.Disable("m"); err != nil {
		t.Fatal(err)
	}
	if reg.Enabled("m") {
		t.Fatal("Enabled true after Disable")
	}
	select {
	case <-other.stops:
		t.Fatal("Disable stopped a service that is not the module's")
	default:
	}
	// Enable again: the same children run again.
	if err := reg.Enable("m"); err != nil {
		t.Fatal(err)
	}
	if run := wait(t, a.runs, "a to run again"); run != 2 {
		t.Fatalf("a run %d, want 2", run)
	}
}

func TestRegistryBeforeServing(t *testing.T) {
	sup, _ := newSupervisor(t)
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	on, off := newTestService("on"), newTestService("off")
	_ = reg.Register(&testModule{key: "on", children: []suture.Service{on}})
	_ = reg.Register(&testModule{key: "off", children: []suture.Service{off}})
	if err := reg.Enable("on"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("off"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Disable("off"); err != nil {
		t.Fatal(err)
	}
	marker := newTestService("marker")
	sup.Add(marker) // added last: once it runs, the others were started
	serve(t, sup)
	wait(t, on.runs, "enabled module to start with the supervisor")
	wait(t, marker.runs, "marker")
	if n := off.n.Load(); n > 1 {
		t.Fatalf("disabled child ran %d times", n)
	}
	if n := off.n.Load(); n == 1 {
		t.Fatal("disabled child's Serve ran past its gate")
	}
}

func TestRegistryEnableAfterSupervisorEnded(t *testing.T) {
	sup, _ := newSupervisor(t)
	stop := serve(t, sup)
	stop()
	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	_ = reg.Register(&testModule{key: "m", children: []suture.Service{newTestService("x")}})
	if err := reg.Enable("m"); !errors.Is(err, phoenixkitdb.ErrSupervisorStopped) {
		t.Fatalf("Enable on an ended supervisor: %v", err)
	}
	if reg.Enabled("m") {
		t.Fatal("module enabled on an ended supervisor")
	}
}

// A child that panics or fails is restarted by suture, and subscriptions
// held by the module's PubSub survive the restart.
func TestRegistryChildRestartKeepsSubscriptions(t *testing.T) {
	for _, mode := range []string{"panic", "error"} {
		t.Run(mode, func(t *testing.T) {
			sup, terms := newSupervisor(t)
			serve(t, sup)
			ps := pubsub.New(quietLogger())
			flaky := newTestService("flaky-pubsub")
			flaky.inner = ps
			if mode == "panic" {
				flaky.panicRuns = map[int]bool{1: true}
			} else {
				flaky.failRuns = map[int]bool{1: true}
			}
			reg := phoenixkitdb.NewRegistry(sup, quietLogger())
			_ = reg.Register(&testModule{key: "m", children: []suture.Service{flaky}})

			mb := pubsub.NewMailbox(8)
			defer mb.Close()
			if err := ps.Subscribe(mb, pubsub.TopicAll()); err != nil {
				t.Fatal(err)
			}
			if err := reg.Enable("m"); err != nil {
				t.Fatal(err)
			}
			wait(t, flaky.runs, "run 1 (fails)")
			if run := wait(t, flaky.runs, "run 2 (restart)"); run != 2 {
				t.Fatalf("run %d, want 2", run)
			}
			sawRestart := false
			for !sawRestart {
				f := wait(t, terms, "the supervisor to report the failure")
				sawRestart = f.restarting && f.service == "flaky-pubsub"
			}
			if err := ps.BroadcastChanges([]pubsub.Event{{Schema: "s", Table: "t", Operation: "INSERT", RowID: "1"}}); err != nil {
				t.Fatal(err)
			}
			if ev := wait(t, mb.C(), "event after restart"); ev.RowID != "1" {
				t.Fatalf("got %v", ev)
			}
		})
	}
}
