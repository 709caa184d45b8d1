package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
)

// assets are the Activity page's HTML, CSS and JavaScript: plain files,
// no build step, nothing loaded from elsewhere.
//
//go:embed web
var assets embed.FS

// Defaults for web's zero fields.
const (
	defaultStatusEvery     = time.Second
	defaultHeartbeatEvery  = 15 * time.Second
	defaultMailboxCapacity = 256
)

// web serves the Activity page and its API. Its dependencies are fields so
// that tests build it against a real change source and database. Handlers are
// safe for concurrent use; the struct must not change once serving.
type web struct {
	// DB is the DB module: each SSE stream subscribes a Mailbox of its own
	// through the helpers of its change source (DB.Changes(), the Listener
	// or the replication Source), and the status shows that source's Stats.
	DB *phoenixkitdb.DB
	// Registry enables and disables the module Module (its key, "db").
	Registry *phoenixkitdb.Registry
	Module   string
	// Tables lists the triggered tables for GET /api/tables; Rows reads
	// the rows of one of them for the table view.
	Tables tableLister
	Rows   rowReader
	// Metrics serves GET /metrics; nil serves none (404).
	Metrics http.Handler
	// Cluster, in -cluster mode, holds the instances: streams read one of
	// them, the status shows them all and the leader's change source, and
	// the /cluster/ POSTs stop and start them. DB then only names the
	// slot and publication.
	Cluster *clusterSet
	// Shapes, when set, serves Electric's shape API at GET /v1/shape.
	Shapes *shapeAPI
	// Recent, when set, holds the latest changes: each SSE stream starts
	// with those it wants (a history frame). Unused in -cluster mode.
	Recent *recent
	// AllowedHosts are the Host header names served besides the loopback
	// ones (see hostCheck); "*" serves any.
	AllowedHosts []string
	// Logger; nil means slog.Default().
	Logger *slog.Logger

	// StatusEvery (1 s) and HeartbeatEvery (15 s) pace SSE status frames
	// and heartbeat comments; MailboxCapacity (256) sizes each stream's
	// Mailbox.
	StatusEvery, HeartbeatEvery time.Duration
	MailboxCapacity             int
}

// routes returns the handler for every path:
//
//	GET  /                          the Activity page (all tables)
//	GET  /tables/{schema}/{table}   one watched table: its rows, kept current, and its changes (404 otherwise)
//	GET  /static/...                page assets
//	GET  /events                    SSE stream (?table=schema.table, ?op=INSERT,DELETE; -cluster: ?member=N)
//	GET  /api/tables                watched tables (triggered; published in WAL mode) with row counts
//	GET  /api/tables/{s}/{t}/rows       the table view's rows, newest first (404 unless watched)
//	GET  /api/tables/{s}/{t}/rows/{id}  one row by the id a change carried (404 when gone)
//	GET  /api/tables/{s}/{t}/shape      SSE: the live shape of its rows matching ?where= (the filter box)
//	GET  /api/status                the status frame as JSON
//	GET  /healthz                   200 when the change source is connected, else 503
//	GET  /metrics                   Prometheus metrics (docs/operations.md), when Metrics is set
//	GET  /v1/shape                  Electric's shape API for the demo tables (docs/http.md); -cluster: instance 3's
//	POST /modules/{key}/enable      enable the module through the Registry
//	POST /modules/{key}/disable     disable it
//	POST /cluster/...               -cluster mode only: see clusterRoutes
//
// POSTs from other origins are refused with 403 (CSRF protection), and
// requests naming a host that is not allowed with 421 (DNS rebinding).
func (w *web) routes() http.Handler {
	static, err := fs.Sub(assets, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.page)
	mux.HandleFunc("GET /tables/{schema}/{table}", w.tablePage)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /events", w.events)
	mux.HandleFunc("GET /api/tables", w.tables)
	mux.HandleFunc("GET /api/tables/{schema}/{table}/rows", w.rows)
	mux.HandleFunc("GET /api/tables/{schema}/{table}/rows/{id}", w.row)
	mux.HandleFunc("GET /api/tables/{schema}/{table}/shape", w.filtered)
	mux.HandleFunc("GET /api/status", w.statusJSON)
	mux.HandleFunc("GET /healthz", w.healthz)
	if w.Metrics != nil {
		mux.Handle("GET /metrics", w.Metrics)
	}
	if w.Shapes != nil {
		mux.Handle("GET /v1/shape", w.Shapes)
	}
	mux.HandleFunc("POST /modules/{key}/enable", w.toggle(true))
	mux.HandleFunc("POST /modules/{key}/disable", w.toggle(false))
	if w.Cluster != nil {
		w.clusterRoutes(mux)
	}
	// A page on another site that the user happens to visit must not be
	// able to switch the module off through the user's browser: cross-origin
	// POSTs (Sec-Fetch-Site, else an Origin that is not this host) get 403.
	// Requests from tools like curl carry neither header and pass. A page
	// whose own name rebinds to this address is same-origin to the
	// browser: only the Host header tells it apart.
	return hostCheck(w.AllowedHosts, http.NewCrossOriginProtection().Handler(mux))
}

func (w *web) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

// page serves the Activity page; its script reads the table, if any, from
// the path.
func (w *web) page(rw http.ResponseWriter, r *http.Request) {
	body, err := assets.ReadFile("web/index.html")
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-cache")
	_, _ = rw.Write(body)
}

// healthz answers 200 when the change source (Listener or replication
// Source; in -cluster mode the leader's) is connected and 503 otherwise,
// with the status (its Stats included) as JSON either way.
func (w *web) healthz(rw http.ResponseWriter, r *http.Request) {
	st := w.status(0)
	code := http.StatusOK
	if !st.Listener.Connected {
		code = http.StatusServiceUnavailable
	}
	writeJSON(rw, code, st)
}

func (w *web) statusJSON(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, w.status(0))
}

// toggle enables or disables the module named in the path through the
// Registry (in -cluster mode, through every instance's). Disable waits
// until the module's children have stopped, bounded by the request.
func (w *web) toggle(enable bool) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		// In -cluster mode the module is every instance's.
		regs := []*phoenixkitdb.Registry{w.Registry}
		if w.Cluster != nil {
			regs = regs[:0]
			for _, m := range w.Cluster.members {
				regs = append(regs, m.reg)
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		var err error
		for _, reg := range regs {
			if enable {
				err = reg.Enable(key)
			} else {
				err = reg.DisableContext(ctx, key)
			}
			if err != nil {
				break
			}
		}
		switch {
		case errors.Is(err, phoenixkitdb.ErrUnknownModule):
			writeJSON(rw, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		case err != nil:
			w.logger().Warn("web: module toggle failed", "module", key, "enable", enable, "err", err)
			writeJSON(rw, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(rw, http.StatusOK, map[string]any{"module": key, "enabled": w.Registry.Enabled(key)})
	}
}

// tables lists the watched tables with their row counts.
func (w *web) tables(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ts, err := w.Tables.Tables(ctx)
	if err != nil {
		w.logger().Warn("web: listing tables failed", "err", err)
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "listing tables failed: " + err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, ts)
}

// writeJSON writes v as a JSON response with status code.
func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(v)
}
