package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// waitFor bounds every wait of these tests: generous, for a loaded machine.
const waitFor = 60 * time.Second

// startNATS runs an embedded NATS server with JetStream in a temporary
// directory, reachable only in-process; t.Cleanup shuts it down and waits.
func startNATS(t *testing.T) *server.Server { return startNATSWith(t, server.Options{}) }

// restartNATS shuts ns down and starts a server on the same store
// directory, the way a NATS server restarts with file storage.
func restartNATS(t *testing.T, ns *server.Server) *server.Server {
	t.Helper()
	dir := ns.JetStreamConfig().StoreDir
	ns.Shutdown()
	ns.WaitForShutdown()
	ns2, err := server.NewServer(&server.Options{JetStream: true, StoreDir: dir, DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	if !ns2.ReadyForConnections(waitFor) {
		t.Fatal("restarted NATS server not ready")
	}
	t.Cleanup(func() { ns2.Shutdown(); ns2.WaitForShutdown() })
	return ns2
}

// startNATSWith is startNATS with more server options (auth, say).
func startNATSWith(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	opts.JetStream, opts.StoreDir, opts.DontListen, opts.NoLog, opts.NoSigs = true, t.TempDir(), true, true, true
	ns, err := server.NewServer(&opts)
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
	return ns
}

// netSwitch is one instance's path to the in-process NATS server; Cut
// breaks its connections and refuses new ones until Restore.
type netSwitch struct {
	ns    *server.Server
	mu    sync.Mutex
	down  bool
	conns []net.Conn
	held  chan struct{} // non-nil: Hold is on; closed by Release
	// frozen: Freeze is on; the connections' writes are queued.
	frozen bool
	hconns []*heldConn
}

var errCut = errors.New("test: network cut")

// InProcessConn implements nats.InProcessConnProvider.
func (s *netSwitch) InProcessConn() (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errCut
	}
	c, err := s.ns.InProcessConn()
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, c)
	hc := &heldConn{Conn: c, sw: s}
	s.hconns = append(s.hconns, hc)
	return hc, nil
}

// Freeze is Hold, and what the instance sends is queued, not sent, until
// Release: the instance looks like a stalled process to the server (and
// to the instance, the server looks silent).
func (s *netSwitch) Freeze() {
	s.Hold()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
}

// Queued returns what the instance sent since Freeze, all connections
// together.
func (s *netSwitch) Queued() []byte {
	s.mu.Lock()
	hcs := slices.Clone(s.hconns)
	s.mu.Unlock()
	var b []byte
	for _, c := range hcs {
		c.wmu.Lock()
		b = append(b, c.queue...)
		c.wmu.Unlock()
	}
	return b
}

// Hold delays everything the server sends this instance until Release;
// what the instance sends still reaches the server, which acts on it.
func (s *netSwitch) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = make(chan struct{})
	}
}

// Release ends Hold and Freeze: what was held arrives, in order, and
// what was queued is sent first, in order.
func (s *netSwitch) Release() {
	s.mu.Lock()
	s.frozen = false
	hcs := slices.Clone(s.hconns)
	s.mu.Unlock()
	for _, c := range hcs {
		c.flushQueue()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
}

func (s *netSwitch) holding() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// heldConn is a connection whose reads wait while its switch holds and
// whose writes are queued while it is frozen.
type heldConn struct {
	net.Conn
	sw    *netSwitch
	wmu   sync.Mutex // serialises writes with the queue's flush
	queue []byte
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sw.mu.Lock()
	frozen := c.sw.frozen
	c.sw.mu.Unlock()
	if frozen {
		c.queue = append(c.queue, p...)
		return len(p), nil
	}
	if len(c.queue) > 0 {
		q := c.queue
		c.queue = nil
		if _, err := c.Conn.Write(q); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// flushQueue sends what was queued while frozen.
func (c *heldConn) flushQueue() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.queue) > 0 {
		_, _ = c.Conn.Write(c.queue)
		c.queue = nil
	}
}

func (c *heldConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	// Checked after the read too: a read already waiting when Hold began
	// must not let a reply through.
	if ch := c.sw.holding(); ch != nil {
		<-ch
	}
	return n, err
}

func (s *netSwitch) Cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *netSwitch) Restore() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// SetServer points the switch at another server (a restarted one).
func (s *netSwitch) SetServer(ns *server.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns = ns
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// instance is one app instance: its own supervisor, Registry, DB module
// and cluster module.
type instance struct {
	db     *phoenixkitdb.DB
	cl     *cluster.Cluster
	reg    *phoenixkitdb.Registry
	sw     *netSwitch
	mb     *pubsub.Mailbox
	logs   *syncBuffer
	cancel context.CancelFunc
	done   <-chan error
	once   sync.Once
}

type instanceOpts struct {
	source  phoenixkitdb.SourceKind
	dbURL   func(string) string // rewrites the database URL (through a proxy, say)
	cluster cluster.Config      // NATSOptions are appended to
	mbCap   int
	// messages asks the WAL source for logical messages (Config.WAL.Messages).
	messages bool
	// dbConfig, if set, edits the DB module's configuration.
	dbConfig func(*phoenixkitdb.Config)
	// wrapLog, if set, wraps the instance's log handler (to watch or hold
	// a log call).
	wrapLog func(slog.Handler) slog.Handler
}

// newInstance starts an instance whose mailbox subscribes to every
// table; t.Cleanup stops it (Stop is idempotent).
func newInstance(t *testing.T, ns *server.Server, dbURL string, o instanceOpts) *instance {
	t.Helper()
	logs := &syncBuffer{}
	var h slog.Handler = slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	if o.wrapLog != nil {
		h = o.wrapLog(h)
	}
	logger := slog.New(h)
	if o.dbURL != nil {
		dbURL = o.dbURL(dbURL)
	}
	dbCfg := phoenixkitdb.Config{
		ConnString: dbURL, Logger: logger, Source: o.source,
		Listener: listener.Config{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		WAL:      replication.Config{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Messages: o.messages},
	}
	if o.dbConfig != nil {
		o.dbConfig(&dbCfg)
	}
	db, err := phoenixkitdb.New(dbCfg)
	if err != nil {
		t.Fatal(err)
	}
	sw := &netSwitch{ns: ns}
	cfg := o.cluster
	cfg.Logger = logger
	cfg.NATSOptions = append(cfg.NATSOptions, nats.InProcessServer(sw), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(0, 0), nats.NoCallbacksAfterClientClose())
	cl, err := cluster.New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	sup := suture.New("test", suture.Spec{EventHook: func(e suture.Event) { logger.Info("suture: " + e.String()) }})
	reg := phoenixkitdb.NewRegistry(sup, logger)
	if err := reg.Register(cl); err != nil {
		t.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(max(o.mbCap, 4096))
	if err := db.Changes().SubscribeAll(mb); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{db: db, cl: cl, reg: reg, sw: sw, mb: mb, logs: logs, cancel: cancel, done: sup.ServeBackground(ctx)}
	t.Cleanup(in.Stop)
	return in
}

// Stop stops the instance cleanly and waits for everything it ran.
func (in *instance) Stop() {
	in.once.Do(func() {
		in.cancel()
		<-in.done
		in.mb.Close()
	})
}

// waitReady waits until every instance's Changes().WaitReady returns.
func waitReady(t *testing.T, ins ...*instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for i, in := range ins {
		if err := in.db.WaitReady(ctx); err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, in.logs.String())
		}
	}
}

// next returns the next event of mb, failing the test after waitFor.
func next(t *testing.T, mb *pubsub.Mailbox) pubsub.Event {
	t.Helper()
	select {
	case ev, ok := <-mb.C():
		if !ok {
			t.Fatal("mailbox closed")
		}
		return ev
	case <-time.After(waitFor):
		t.Fatal("no event within the deadline")
	}
	return pubsub.Event{}
}

// poll calls cond until it is true, failing after waitFor.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connect opens a test connection to dbURL, closed at cleanup.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// countBackends counts this database's sessions with applicationName.
func countBackends(t *testing.T, conn *pgx.Conn, applicationName string) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
		applicationName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// leaderOf returns the only leading instance, failing if there are more.
func leaderOf(t *testing.T, ins []*instance) *instance {
	t.Helper()
	var l *instance
	for _, in := range ins {
		if in.cl.Leading() {
			if l != nil {
				t.Fatal("two leaders")
			}
			l = in
		}
	}
	return l
}

// changesOnly reads until n changes came, returning them as strings and
// counting the Resyncs between them.
func changesOnly(t *testing.T, mb *pubsub.Mailbox, n int) (got []string, resyncs []string) {
	t.Helper()
	for len(got) < n {
		ev := next(t, mb)
		if ev.Kind == pubsub.Resync {
			resyncs = append(resyncs, string(ev.Reason))
			continue
		}
		got = append(got, ev.String())
	}
	return got, resyncs
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// oneListener waits until this database has exactly one session of the
// Listener's application name. The Listener's cross-session probe opens a
// short-lived second one, so one look could see two: with a reader per
// instance the count would stay above one and the wait fail.
func oneListener(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	poll(t, "exactly one LISTEN backend", func() bool {
		return countBackends(t, conn, listener.DefaultApplicationName) == 1
	})
}

// connectedSources counts the instances whose change source holds a
// connection to PostgreSQL.
func connectedSources(ins []*instance) int {
	n := 0
	for _, in := range ins {
		if in.cl.Source().Connected() {
			n++
		}
	}
	return n
}
