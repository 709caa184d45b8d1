package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// appConfig configures newApp. Zero durations mean the defaults noted.
type appConfig struct {
	DatabaseURL string
	Logger      *slog.Logger

	// DemoSchema creates the demo schema and its triggers; Demo also
	// starts the demo writer, one change per DemoInterval (800 ms).
	DemoSchema   bool
	Demo         bool
	DemoInterval time.Duration

	// Watch are the tables whose change triggers the app installs (besides
	// the demo's), or, in WAL mode, that it adds to the publication.
	// Nothing else is written to the database.
	Watch []watchTable

	// DB tunes the DB module; ConnString and Logger are filled in.
	// DB.Source = SourceWAL runs the replication Source on DB.WAL.Slot
	// and DB.WAL.Publication instead of the Listener.
	DB phoenixkitdb.Config

	// StatusEvery and HeartbeatEvery pace the SSE stream's status frames
	// (1 s) and heartbeat comments (15 s).
	StatusEvery, HeartbeatEvery time.Duration

	// ClusterNATS, when set, runs clusterMembers instances of the DB
	// module in the process, each wrapped by the cluster module on this
	// NATS server; ClusterEmbedded says the server is the app's own.
	ClusterNATS     string
	ClusterEmbedded bool
}

// stopTimeout bounds how long the supervisor waits for each service when
// it stops, so that shutdown fits in the program's two seconds.
const stopTimeout = time.Second

// app is the host application: a suture supervisor tree, a module
// Registry holding the DB module, the demo writer and the web handlers.
type app struct {
	log  *slog.Logger
	pool *pgxpool.Pool
	db   *phoenixkitdb.DB // in cluster mode not registered: it names the slot and publication
	sup  *suture.Supervisor
	reg  *phoenixkitdb.Registry // in cluster mode the first instance's
	web  *web
	// cluster holds the instances of cluster mode; nil otherwise.
	cluster *clusterSet
	// shapes serves /v1/shape (in cluster mode one instance's, see
	// clusterSet.addShapes).
	shapes *shapeAPI
}

// newApp connects the example's pool, creates what cfg asks for (the demo
// schema, triggers on the watched tables), and builds the supervisor tree with the DB module registered
// and enabled through the Registry. Nothing runs until serve; ctx bounds
// only the set-up. The caller must call close after serve has ended.
func newApp(ctx context.Context, cfg appConfig) (*app, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// New only validates: the module connects once the supervisor runs it.
	// It comes first so that a bad -slot fails before anything is written.
	dbCfg := cfg.DB
	dbCfg.ConnString, dbCfg.Logger = cfg.DatabaseURL, logger
	db, err := phoenixkitdb.New(dbCfg)
	if err != nil {
		return nil, err
	}
	pool, err := openPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	publication := ""
	if src := db.Replication(); src != nil {
		publication = src.Publication()
	}
	if err := installAsked(ctx, pool, logger, cfg, publication); err != nil {
		pool.Close()
		return nil, err
	}
	leftCfg := dbCfg
	if src := db.Replication(); src != nil {
		leftCfg.WAL.Slot, leftCfg.WAL.Publication = src.Slot(), src.Publication()
	}
	logLeftovers(ctx, pool, logger, leftCfg)
	// The host's own tree: the Registry adds module children to it, and
	// the host adds its own services (here the demo writer) beside them.
	sup := suture.New("supervisor_example", suture.Spec{
		EventHook: supervisorHook(logger),
		Timeout:   stopTimeout,
	})
	var (
		reg      *phoenixkitdb.Registry
		cs       *clusterSet
		metricsH http.Handler
	)
	if cfg.ClusterNATS != "" {
		// Each instance has its own supervisor under the host's tree, its
		// own Registry and DB module, as separate processes would.
		cs, err = newMembers(sup, dbCfg, cfg.ClusterNATS, cfg.ClusterEmbedded, clusterMembers, logger)
		if err == nil {
			reg = cs.members[0].reg
			metricsH, err = clusterMetricsHandler(cs, logger)
		}
	} else {
		reg = phoenixkitdb.NewRegistry(sup, logger)
		if err = reg.Register(db); err == nil {
			err = reg.Enable(db.Key())
		}
		if err == nil {
			metricsH, err = metricsHandler(db, logger)
		}
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	var (
		rec    *recent
		shapes *shapeAPI
	)
	if cs == nil {
		// Beside the module's children, as a host's own services are.
		rec = newRecent(db.Changes())
		sup.Add(rec)
		if shapes, err = newShapeAPI(pool, db, publication, logger); err == nil {
			sup.Add(shapes)
		}
	} else {
		shapes, err = cs.addShapes(pool, publication, logger)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	if cfg.Demo {
		interval := cfg.DemoInterval
		if interval <= 0 {
			interval = 800 * time.Millisecond
		}
		sup.Add(&demoWriter{pool: pool, interval: interval, log: logger})
		logger.Info("demo: writing a change every interval into demo.users, demo.orders, demo.events_log", "interval", interval)
	}

	return &app{
		log:     logger,
		pool:    pool,
		db:      db,
		sup:     sup,
		reg:     reg,
		cluster: cs,
		shapes:  shapes,
		web: &web{
			Shapes:         shapes,
			DB:             db,
			Cluster:        cs,
			Registry:       reg,
			Module:         db.Key(),
			Tables:         poolTables{pool: pool, publication: publication},
			Rows:           poolTables{pool: pool, publication: publication},
			Metrics:        metricsH,
			Recent:         rec,
			Logger:         logger,
			StatusEvery:    cfg.StatusEvery,
			HeartbeatEvery: cfg.HeartbeatEvery,
		},
	}, nil
}

// serve runs the supervisor tree in the background; it returns once the
// tree runs. The returned channel yields the supervisor's result after ctx
// ends and every service has stopped (each within stopTimeout).
func (a *app) serve(ctx context.Context) <-chan error { return a.sup.ServeBackground(ctx) }

// dropSlot drops the DB module's replication slot in WAL mode and reports
// whether there was a module in WAL mode to do it for. Call it only after
// the supervisor has stopped: the server refuses to drop a slot in use.
// DropSlot waits (bounded by ctx) for a walsender still exiting.
func (a *app) dropSlot(ctx context.Context) (bool, error) {
	src := a.db.Replication()
	if src == nil {
		return false, nil
	}
	// DropSlot waits for the walsender the stopped Source leaves exiting.
	return true, replication.DropSlot(ctx, a.pool, src.Slot())
}

// close releases the pool. Call it after the supervisor has stopped.
func (a *app) close() {
	switch {
	case a.cluster != nil:
		a.cluster.closeShapes()
	case a.shapes != nil:
		a.shapes.close()
	}
	a.pool.Close()
}

// installAsked creates the demo schema (cfg.DemoSchema or cfg.Demo) and
// watches the tables of cfg.Watch, and nothing else: with triggers in
// NOTIFY mode, through publication in WAL mode (publication not empty).
func installAsked(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, cfg appConfig, publication string) error {
	if cfg.DemoSchema || cfg.Demo {
		if err := setupDemoSchema(ctx, pool, logger, publication); err != nil {
			return err
		}
	}
	if publication != "" {
		if err := installPublication(ctx, pool, logger, publication, cfg.Watch); err != nil {
			return err
		}
		if !cfg.DemoSchema && !cfg.Demo && len(cfg.Watch) == 0 {
			logger.Info("watch: changing no publication; showing the tables already in it "+
				"(-watch schema.table,... adds your tables, -demo creates schema demo)", "publication", publication)
		}
		return nil
	}
	if err := installTriggers(ctx, pool, logger, cfg.Watch); err != nil {
		return err
	}
	if !cfg.DemoSchema && !cfg.Demo && len(cfg.Watch) == 0 {
		logger.Info("watch: installing no triggers; showing tables that already have one " +
			"(-watch schema.table,... installs them on your tables, -demo creates schema demo)")
	}
	return nil
}
