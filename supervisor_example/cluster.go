package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/thejerf/suture/v4"
)

// clusterMembers is how many instances -cluster runs in the process.
const clusterMembers = 3

// member is one instance of the host in -cluster mode: a supervisor,
// Registry, DB module and the cluster module wrapping it, as a separate
// process of a real deployment would have them.
type member struct {
	n   int // 1-based, as the page and the logs show it
	db  *phoenixkitdb.DB
	cl  *cluster.Cluster
	sup *suture.Supervisor
	reg *phoenixkitdb.Registry
	// shapes is the instance's own shape.Manager on its PubSub (fed by
	// its follower), run by sup beside the module.
	shapes *shapeAPI
}

// clusterSet is the instances of -cluster mode. Its methods are safe for
// concurrent use: they read the modules' atomics and go through each
// member's Registry.
type clusterSet struct {
	stream   string
	embedded bool // the NATS server runs in this process
	members  []*member
}

// newMembers builds n instances on dbCfg (ConnString and Source set),
// each wrapped by the cluster module on natsURL, each with its own
// supervisor (added to parent, which runs them) and Registry, the module
// registered and enabled. Nothing runs until parent does.
func newMembers(parent *suture.Supervisor, dbCfg phoenixkitdb.Config, natsURL string, embedded bool, n int, logger *slog.Logger) (*clusterSet, error) {
	cs := &clusterSet{stream: cluster.DefaultStream, embedded: embedded}
	for i := 1; i <= n; i++ {
		log := logger.With("member", i)
		cfg := dbCfg
		cfg.Logger = log
		db, err := phoenixkitdb.New(cfg)
		if err != nil {
			return nil, err
		}
		cl, err := cluster.New(cluster.Config{URL: natsURL, Stream: cs.stream, Logger: log}, db)
		if err != nil {
			return nil, err
		}
		sup := suture.New(fmt.Sprintf("member-%d", i), suture.Spec{EventHook: supervisorHook(log), Timeout: stopTimeout})
		reg := phoenixkitdb.NewRegistry(sup, log)
		if err := reg.Register(cl); err != nil {
			return nil, err
		}
		if err := reg.Enable(cl.Key()); err != nil {
			return nil, err
		}
		parent.Add(sup)
		cs.members = append(cs.members, &member{n: i, db: db, cl: cl, sup: sup, reg: reg})
	}
	return cs, nil
}

// addShapes gives every instance its own shape API on its own PubSub
// (WAL changes arrive through the follower with rows and xids; NOTIFY
// ones with ids only, so those Managers run in NOTIFY mode), added to the
// instance's supervisor, and returns the one that answers /v1/shape: the
// last instance's, a follower while the first leads, so its handles and
// offsets stay valid request after request.
func (cs *clusterSet) addShapes(pool *pgxpool.Pool, publication string, logger *slog.Logger) (*shapeAPI, error) {
	for _, m := range cs.members {
		api, err := newShapeAPI(pool, m.db, publication, logger.With("member", m.n))
		if err != nil {
			return nil, err
		}
		m.sup.Add(api)
		m.shapes = api
	}
	return cs.members[len(cs.members)-1].shapes, nil
}

// closeShapes ends every instance's shape API; call it after the
// supervisors stopped.
func (cs *clusterSet) closeShapes() {
	for _, m := range cs.members {
		if m.shapes != nil {
			m.shapes.close()
		}
	}
}

// member returns instance n (1-based), nil if there is none.
func (cs *clusterSet) member(n int) *member {
	if n < 1 || n > len(cs.members) {
		return nil
	}
	return cs.members[n-1]
}

// leader returns the instance that leads, nil while none does.
func (cs *clusterSet) leader() *member {
	for _, m := range cs.members {
		if m.cl.Leading() {
			return m
		}
	}
	return nil
}

// enabled reports whether m's cluster module is enabled.
func (m *member) enabled() bool { return m.reg.Enabled(m.cl.Key()) }

// pick returns the instance whose PubSub feeds a stream that asked for
// none: the first enabled follower, so that stopping the leader leaves
// it alone, else the first enabled one, else the first.
func (cs *clusterSet) pick() *member {
	var first *member
	for _, m := range cs.members {
		if !m.enabled() {
			continue
		}
		if !m.cl.Leading() {
			return m
		}
		if first == nil {
			first = m
		}
	}
	if first == nil {
		first = cs.members[0]
	}
	return first
}

// errNoLeader: stop-leader found no instance leading.
var errNoLeader = errors.New("supervisor_example: no instance leads right now")

// stopLeader disables the leading instance's module through its Registry
// and waits (bounded by ctx) until its services stopped: its lease is
// released then, and another instance takes over.
func (cs *clusterSet) stopLeader(ctx context.Context) (*member, error) {
	m := cs.leader()
	if m == nil {
		return nil, errNoLeader
	}
	return m, m.reg.DisableContext(ctx, m.cl.Key())
}

// memberStatus is one instance on the page and in /api/status.
type memberStatus struct {
	N         int    `json:"n"`
	ID        string `json:"id"`
	Enabled   bool   `json:"enabled"`
	Leading   bool   `json:"leading"`
	Connected bool   `json:"connected"` // its follower consumes the stream
	Terms     uint64 `json:"terms"`
	Published uint64 `json:"published"` // events its relay stored while it led
	Position  uint64 `json:"position"`  // stream sequence last handed to its PubSub
	// Lag is the stream's last sequence (clusterStatus.StreamLast) minus
	// Position.
	Lag      uint64 `json:"lag"`
	Received uint64 `json:"received"`
	Resyncs  uint64 `json:"resyncs"`
}

// clusterStatus is the cluster part of the status frame.
type clusterStatus struct {
	Stream   string `json:"stream"`
	Embedded bool   `json:"embedded_nats"`
	// Leader is the leading instance's number, 0 while none leads.
	Leader int `json:"leader"`
	// StreamLast is the stream's last sequence: the highest any instance
	// saw (a stopped one cannot see the stream grow).
	StreamLast uint64         `json:"stream_last"`
	Members    []memberStatus `json:"members"`
	// Serving is the instance whose PubSub feeds this SSE stream (0
	// outside SSE).
	Serving int `json:"serving,omitempty"`
}

// status returns every instance's state.
func (cs *clusterSet) status() *clusterStatus {
	st := &clusterStatus{Stream: cs.stream, Embedded: cs.embedded}
	stats := make([]cluster.Stats, len(cs.members))
	for i, m := range cs.members {
		stats[i] = m.cl.Stats()
		st.StreamLast = max(st.StreamLast, stats[i].StreamLast)
	}
	for i, m := range cs.members {
		s := stats[i]
		if s.Leading {
			st.Leader = m.n
		}
		st.Members = append(st.Members, memberStatus{
			N: m.n, ID: m.cl.ID(), Enabled: m.enabled(), Leading: s.Leading, Connected: s.Connected,
			Terms: s.Terms, Published: s.Published, Position: s.Position, Lag: st.StreamLast - min(s.Position, st.StreamLast),
			Received: s.Received, Resyncs: s.Resyncs,
		})
	}
	return st
}

// sourceMember returns the instance whose change source the status shows:
// the leader's, else the first instance's (stopped).
func (cs *clusterSet) sourceMember() *member {
	if m := cs.leader(); m != nil {
		return m
	}
	return cs.members[0]
}

// natsServer is the embedded NATS server of -cluster without -nats-url.
type natsServer struct {
	ns  *server.Server
	dir string
}

// startNATS runs a NATS server with JetStream in a temporary directory,
// listening on a free port of the loopback interface. close shuts it down
// and removes the directory.
func startNATS(logger *slog.Logger) (*natsServer, error) {
	// Under the embedded PostgreSQL's run directory when there is one
	// (TMPDIR points there): the watchdog removes it however the app ends.
	dir, err := os.MkdirTemp("", "phoenixkitdb-nats-")
	if err != nil {
		return nil, fmt.Errorf("supervisor_example: NATS store: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir,
		NoSigs: true, NoLog: true, ServerName: "phoenixkitdb-demo",
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("supervisor_example: NATS server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		_ = os.RemoveAll(dir)
		return nil, errors.New("supervisor_example: the embedded NATS server did not start")
	}
	logger.Info("embedded NATS server ready (JetStream; removed on exit)", "url", ns.ClientURL(), "store_dir", dir)
	return &natsServer{ns: ns, dir: dir}, nil
}

// url is the client URL of the server.
func (n *natsServer) url() string { return n.ns.ClientURL() }

// close shuts the server down and removes its store.
func (n *natsServer) close() error {
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
	return os.RemoveAll(n.dir)
}
