package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	execpkg "os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// A cluster instance in a child process: the test binary started again
// with these variables set runs one instance (WAL source, default
// LeaseTTL) until SIGTERM or the end of its stdin (the parent gone),
// logging to stderr. A process of its own can be
// stopped and continued with SIGSTOP and SIGCONT, which starve it the way
// a container's CPU limit does (nothing of it runs, its sockets stay open).
const (
	childNATSEnv = "PHOENIXKITDB_CLUSTER_CHILD_NATS"
	childDBEnv   = "PHOENIXKITDB_CLUSTER_CHILD_DB"
)

// runChild runs the child instance if the environment asks for one; it
// reports whether it did (TestMain then exits with code).
func runChild() (code int, ran bool) {
	natsURL, dbURL := os.Getenv(childNATSEnv), os.Getenv(childDBEnv)
	if natsURL == "" || dbURL == "" {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: dbURL, Logger: logger, Source: phoenixkitdb.SourceWAL,
		WAL: replication.Config{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}})
	if err != nil {
		logger.Error("child: " + err.Error())
		return 1, true
	}
	cl, err := cluster.New(cluster.Config{URL: natsURL, Logger: logger}, db)
	if err != nil {
		logger.Error("child: " + err.Error())
		return 1, true
	}
	sup := suture.New("child", suture.Spec{EventHook: func(e suture.Event) { logger.Info("suture: " + e.String()) }})
	reg := phoenixkitdb.NewRegistry(sup, logger)
	if err := reg.Register(cl); err != nil {
		logger.Error("child: " + err.Error())
		return 1, true
	}
	if err := reg.Enable("db"); err != nil {
		logger.Error("child: " + err.Error())
		return 1, true
	}
	_ = sup.Serve(ctx)
	return 0, true
}

// child is a cluster instance in a process of its own.
type child struct {
	cmd   *execpkg.Cmd
	logs  *syncBuffer
	stdin io.WriteCloser // held open while the child should run
}

// startChild starts a child instance on the NATS server at natsURL and the
// database dbURL, and waits until it leads; t.Cleanup continues and ends
// it.
func startChild(t *testing.T, natsURL, dbURL string) *child {
	t.Helper()
	c := &child{cmd: execpkg.Command(os.Args[0], "-test.run=^$"), logs: &syncBuffer{}}
	c.cmd.Env = append(os.Environ(), childNATSEnv+"="+natsURL, childDBEnv+"="+dbURL)
	c.cmd.Stderr = c.logs
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	poll(t, "the child instance to lead", func() bool { return strings.Contains(c.logs.String(), "cluster: leading") })
	return c
}

func (c *child) signal(sig syscall.Signal) { _ = c.cmd.Process.Signal(sig) }

// stop continues and terminates the child and waits for it (killing it
// after 20 s).
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.signal(syscall.SIGCONT)
	c.signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// startNATSListening is startNATS on a loopback TCP port, for children.
func startNATSListening(t *testing.T) (*server.Server, string) {
	t.Helper()
	opts := &server.Options{JetStream: true, StoreDir: t.TempDir(), Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(waitFor) {
		ns.Shutdown()
		ns.WaitForShutdown()
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns, ns.ClientURL()
}

// A leader whose process is not scheduled for twice the default LeaseTTL
// (SIGSTOP: a CPU-starved container, a long GC or VM pause) loses the
// lease; the other instance leads, ends the stopped leader's walsender
// and delivers every change committed meanwhile once, with no Resync.
// Continued, the old leader steps down (its own clock ended its term, or
// the stream refuses its stale publish) and never leads again while the
// new leader lives: no change is duplicated.
func TestStoppedLeaderProcessLosesLeaseWithoutLoss(t *testing.T) {
	ns, natsURL := startNATSListening(t)
	dbURL, run := walDB(t)
	old := startChild(t, natsURL, dbURL)
	b := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	waitReady(t, b)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stopped leader's log:\n%s\nnew leader's log:\n%s", old.logs, b.logs)
		}
	})
	if b.cl.Leading() {
		t.Fatal("the in-process instance leads; the child should")
	}
	insertRows := func(from, to int) {
		for i := from; i < to; i++ {
			run(`INSERT INTO items VALUES ($1, 'x')`, i)
		}
	}
	insertRows(0, 10)
	expectChangesAnyResyncs(t, []*instance{b}, inserts(0, 10))

	old.signal(syscall.SIGSTOP)
	stopped := time.Now()
	insertRows(10, 20)
	poll(t, "the other instance to lead", b.cl.Leading)
	t.Logf("took over %v after the leader's process stopped", time.Since(stopped).Round(time.Millisecond))
	expectChanges(t, []*instance{b}, inserts(10, 20), nil)
	// Stopped for twice the lease in all.
	time.Sleep(time.Until(stopped.Add(2 * cluster.DefaultLeaseTTL)))
	old.signal(syscall.SIGCONT)
	poll(t, "the continued leader to step down", func() bool {
		return strings.Contains(old.logs.String(), "cluster: no longer leading")
	})
	insertRows(20, 30)
	expectChanges(t, []*instance{b}, inserts(20, 30), nil)
	if !b.cl.Leading() {
		t.Fatalf("the new leader lost the lease to the continued one:\n%s", old.logs)
	}
	if n := strings.Count(old.logs.String(), "cluster: leading"); n != 1 {
		t.Fatalf("the continued instance led %d times", n)
	}
}

// Measures what CPU starvation of the default LeaseTTL's leader costs:
// the leader's process runs `run` and is stopped `stop` in turn (SIGCONT,
// SIGSTOP) for a while, as a container's CPU quota does at the scale of
// its period, while a row is inserted every 20 ms; the other instance
// counts the leader changes and checks that it got every row once. Only
// with PHOENIXKITDB_THROTTLE_MEASURE=1: it takes a minute and reports
// figures (docs/cluster.md, "CPU throttling and LeaseTTL").
func TestThrottledLeaderMeasure(t *testing.T) {
	if os.Getenv("PHOENIXKITDB_THROTTLE_MEASURE") != "1" {
		t.Skip("a measurement: set PHOENIXKITDB_THROTTLE_MEASURE=1")
	}
	for _, c := range []struct{ run, stop time.Duration }{
		{10 * time.Millisecond, 90 * time.Millisecond},
		{20 * time.Millisecond, 180 * time.Millisecond},
		{50 * time.Millisecond, 450 * time.Millisecond},
		{100 * time.Millisecond, 500 * time.Millisecond},
		{100 * time.Millisecond, 700 * time.Millisecond},
		{100 * time.Millisecond, 900 * time.Millisecond},
		{100 * time.Millisecond, 1200 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("run %v stop %v", c.run, c.stop), func(t *testing.T) {
			ns, natsURL := startNATSListening(t)
			dbURL, run := walDB(t)
			leader := startChild(t, natsURL, dbURL)
			b := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
			waitReady(t, b)
			run(`INSERT INTO items VALUES (-1, 'x')`)
			expectChangesAnyResyncs(t, []*instance{b}, []string{"public.items:INSERT:-1"})
			const window = 8 * time.Second
			done := make(chan struct{})
			changes := 0
			go func() {
				defer close(done)
				last := b.cl.Stats().Leader
				end := time.Now().Add(window)
				for time.Now().Before(end) {
					leader.signal(syscall.SIGSTOP)
					time.Sleep(c.stop)
					leader.signal(syscall.SIGCONT)
					for t0 := time.Now(); time.Since(t0) < c.run; time.Sleep(time.Millisecond) {
						if l := b.cl.Stats().Leader; l != last {
							changes++
							last = l
						}
					}
				}
			}()
			n := 0
			for start := time.Now(); time.Since(start) < window; n++ {
				run(`INSERT INTO items VALUES ($1, 'x')`, n)
				time.Sleep(20 * time.Millisecond)
			}
			<-done
			got, resyncs := changesOnly(t, b.mb, n)
			if strings.Join(got, ",") != strings.Join(inserts(0, n), ",") {
				t.Errorf("lost, duplicated or reordered changes: got %d, want %d", len(got), n)
			}
			t.Logf("run %v stop %v (%.0f%% CPU at most): %d leader changes seen, child led %d times, %d rows, Resyncs %v",
				c.run, c.stop, 100*float64(c.run)/float64(c.run+c.stop), changes,
				strings.Count(leader.logs.String(), "cluster: leading"), n, resyncs)
		})
	}
}
