package shapehttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves Electric's HTTP shape API (v1) from live shapes: see the
// package documentation. It is safe for concurrent use. It starts one
// goroutine per shape in use and one that drops idle shapes; Close stops
// them all.
type Handler struct {
	open   opener
	opts   Options
	log    *slog.Logger
	tables map[[2]string]bool

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	clients atomic.Int64
	bufs    sync.Pool // *[]byte of writeBufBytes, for encoding bodies

	mu     sync.Mutex
	shapes map[string]*liveShape
	closed bool
}

// newHandler validates opts and starts the idle-shape sweeper.
func newHandler(open opener, opts Options) (*Handler, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{open: open, opts: o, log: o.Logger, tables: map[[2]string]bool{}, shapes: map[string]*liveShape{}}
	for _, t := range o.Tables {
		schema, table, err := parseTable(t)
		if err != nil {
			return nil, fmt.Errorf("%w: Tables: %q: %v", ErrInvalidOptions, t, err)
		}
		h.tables[[2]string{schema, table}] = true
	}
	h.bufs.New = func() any { b := make([]byte, 0, writeBufBytes); return &b }
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.sweep()
	}()
	return h, nil
}

// Close stops serving: it ends every shape's feed and waits for the
// handler's goroutines. Requests in flight and later ones are answered
// 503. It is safe to call more than once.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// sweep drops shapes that no request used for IdleTimeout.
func (h *Handler) sweep() {
	t := time.NewTicker(max(h.opts.IdleTimeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			h.mu.Lock()
			for k, s := range h.shapes {
				if s.idle(now, h.opts.IdleTimeout) {
					delete(h.shapes, k)
					s.cancel()
				}
			}
			h.mu.Unlock()
		}
	}
}

// forget removes s from the shapes served, if it is still there.
func (h *Handler) forget(s *liveShape) {
	h.mu.Lock()
	if h.shapes[s.key] == s {
		delete(h.shapes, s.key)
	}
	h.mu.Unlock()
}

// shapeKey identifies a served shape: its definition and replica mode.
func shapeKey(d definition, full bool) string {
	return fmt.Sprintf("%q %q %q %q %q %v", d.Schema, d.Table, d.Where, d.Params, d.Columns, full)
}

// shapeFor returns the served shape for def, starting it if needed.
func (h *Handler) shapeFor(def definition, full bool) (*liveShape, *Error) {
	key := shapeKey(def, full)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosed
	}
	if s := h.shapes[key]; s != nil {
		s.use()
		return s, nil
	}
	if len(h.shapes) >= h.opts.MaxShapes {
		return nil, &Error{Status: http.StatusTooManyRequests, Message: "too many live shapes on this server (" + strconv.Itoa(h.opts.MaxShapes) + "); try again later", RetryAfter: 5}
	}
	s := &liveShape{h: h, key: key, def: def, opened: make(chan struct{}), changed: make(chan struct{}), handle: newHandle(time.Now())}
	s.ctx, s.cancel = context.WithCancel(h.ctx)
	s.use()
	h.shapes[key] = s
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.run(full)
	}()
	return s, nil
}

var errClosed = &Error{Status: http.StatusServiceUnavailable, Message: "the shape server is shutting down", RetryAfter: 1}

// ServeHTTP answers one request of the shape API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Expose-Headers", "electric-cursor, electric-handle, electric-offset, electric-schema, electric-up-to-date, etag, retry-after")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Message: r.Method + " is not supported: this server serves shapes with GET (no shape deletion, no POST subset snapshots)"})
		return
	}
	if n := h.clients.Add(1); n > int64(h.opts.MaxClients) {
		h.clients.Add(-1)
		writeError(w, &Error{Status: http.StatusTooManyRequests, Message: "too many clients on this server (" + strconv.Itoa(h.opts.MaxClients) + "); try again later", RetryAfter: 5})
		return
	}
	defer h.clients.Add(-1)

	req, e := parseRequest(r.URL.Query(), h.opts.MaxWhereBytes)
	if e != nil {
		writeError(w, e)
		return
	}
	def := definition{Schema: req.schema, Table: req.table, Where: req.where, Params: req.params, Columns: req.columns}
	if !h.tables[[2]string{def.Schema, def.Table}] {
		writeError(w, notServed(def))
		return
	}
	narrowed := false
	if h.opts.Authorize != nil {
		orig := definition{Schema: def.Schema, Table: def.Table, Where: def.Where, Params: slices.Clone(def.Params), Columns: slices.Clone(def.Columns)}
		if err := h.opts.Authorize(r, &def); err != nil {
			var he *Error
			if !errors.As(err, &he) {
				h.log.Warn("shapehttp: authorization refused a shape", "table", def.Schema+"."+def.Table, "error", err)
				he = &Error{Status: http.StatusForbidden, Message: "shape refused"}
			}
			writeError(w, he)
			return
		}
		narrowed = def.Schema != orig.Schema || def.Table != orig.Table || def.Where != orig.Where ||
			!slices.Equal(def.Params, orig.Params) || !slices.Equal(def.Columns, orig.Columns)
		if !h.tables[[2]string{def.Schema, def.Table}] {
			writeError(w, notServed(def))
			return
		}
	}
	if len(def.Where) > h.opts.MaxWhereBytes {
		writeError(w, invalid("where", "is "+strconv.Itoa(len(def.Where))+" bytes long once authorized; this server accepts at most "+strconv.Itoa(h.opts.MaxWhereBytes)))
		return
	}
	rs := &responder{h: h, w: w, r: r, req: req, narrowed: narrowed}
	// A shape whose feed ended is replaced by a new one, whose handle the
	// client is sent with 409 must-refetch.
	for range 3 {
		s, e := h.shapeFor(def, req.full)
		if e != nil {
			writeError(w, e)
			return
		}
		done := rs.serve(s)
		s.done()
		if done {
			return
		}
		h.forget(s)
	}
	writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "the shape keeps failing; try again later", RetryAfter: 5})
}

// notServed is the answer for a table outside Options.Tables.
func notServed(def definition) *Error {
	return &Error{Status: http.StatusForbidden, Message: "table " + quoteName(def.Schema) + "." + quoteName(def.Table) + " is not served"}
}

// openError maps an error from opening a shape to an answer.
func (h *Handler) openError(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	if errors.Is(err, context.Canceled) && h.ctx.Err() != nil {
		return errClosed
	}
	h.log.Warn("shapehttp: opening a shape failed", "error", err)
	return &Error{Status: http.StatusInternalServerError, Message: "the shape could not be opened", RetryAfter: 1}
}
