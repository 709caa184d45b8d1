package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// shapeTables are the tables /v1/shape serves: the demo's.
var shapeTables = []string{"demo.users", "demo.orders", "demo.events_log"}

// shapeAPI serves Electric's HTTP shape API at GET /v1/shape for the demo
// tables, so that @electric-sql/client (ShapeStream, Shape) follows them:
// a shape.Manager on the DB module's changes (WAL mode, or NOTIFY mode
// with its weaker guarantee) and a shapehttp.Handler over it. It is a
// suture.Service running the Manager; close ends the handler.
type shapeAPI struct {
	m *shape.Manager
	h *shapehttp.Handler
}

// newShapeAPI builds the Manager and the handler; nothing runs until the
// supervisor serves it.
func newShapeAPI(pool *pgxpool.Pool, db *phoenixkitdb.DB, publication string, logger *slog.Logger) (*shapeAPI, error) {
	cfg := shape.Config{Pool: pool, Changes: db.PubSub(), Notify: db.Replication() == nil, Logger: logger}
	if publication != "" {
		cfg.Publication = publication
	}
	m, err := shape.New(cfg)
	if err != nil {
		return nil, err
	}
	h, err := shapehttp.New(m, shapehttp.Options{Tables: shapeTables, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &shapeAPI{m: m, h: h}, nil
}

// Serve runs the Manager until ctx ends.
func (s *shapeAPI) Serve(ctx context.Context) error { return s.m.Serve(ctx) }

// String names the service in the supervisor's log.
func (s *shapeAPI) String() string { return "shape API" }

// ServeHTTP answers GET /v1/shape.
func (s *shapeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// close ends the handler's shapes; call it after the supervisor stopped.
func (s *shapeAPI) close() { s.h.Close() }
