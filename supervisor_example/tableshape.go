package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// The table view's filter box is a live shape: the WHERE text goes to
// shape.Definition as it is (the shape package parses it and renders SQL
// from its syntax tree), never into SQL of the example's own.

// shapeHeadFrame opens a filtered stream: the shape's normalised WHERE
// clause, columns and key column. The browser forgets its rows on it.
type shapeHeadFrame struct {
	Handle  string   `json:"handle"`
	Where   string   `json:"where"`
	Columns []string `json:"columns"`
	Key     string   `json:"key"`
}

// shapeRowFrame is one row entering (insert), changing (update) or
// leaving (delete) the shape. Row is nil for delete; an update omits the
// TOASTed columns it did not change.
type shapeRowFrame struct {
	Kind string      `json:"kind"`
	Key  string      `json:"key"`
	Row  *pubsub.Row `json:"row,omitempty"`
	LSN  string      `json:"lsn,omitempty"`
}

// shapeStatsFrame says how many shapes the example's Manager holds.
type shapeStatsFrame struct {
	Shapes        int    `json:"shapes"`
	Subscriptions int    `json:"subscriptions"`
	Resets        uint64 `json:"resets"`
}

// filtered answers GET /api/tables/{schema}/{table}/shape?where=...: an
// SSE stream of the live shape of the watched table's rows that match
// where (every row when it is empty). Frames:
//
//	event: shape       data: shapeHeadFrame   (first; forget the rows shown)
//	event: row         data: shapeRowFrame    (insert, update or delete by key)
//	event: reset       data: {}               (forget the rows; a fresh snapshot follows)
//	event: up-to-date  data: {}               (every row of the snapshot was sent)
//	event: stats       data: shapeStatsFrame  (after up-to-date, then every StatusEvery)
//	event: refused     data: {"error": ...}   (the filter was refused, with the byte position; the stream ends)
//
// A table that is not watched answers 404. In -cluster mode the shape is
// the /v1/shape instance's (see clusterSet.addShapes).
func (w *web) filtered(rw http.ResponseWriter, r *http.Request) {
	schema, table := r.PathValue("schema"), r.PathValue("table")
	if w.Shapes == nil {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no shapes in this mode"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), tableViewTimeout)
	ok, err := w.Rows.Watched(ctx, schema, table)
	cancel()
	switch {
	case err != nil:
		w.tableError(rw, err)
		return
	case !ok:
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "not a watched table"})
		return
	}

	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	s := &sseWriter{rw: rw, rc: http.NewResponseController(rw)}

	sctx, scancel := context.WithTimeout(r.Context(), 30*time.Second)
	sub, err := w.Shapes.m.Subscribe(sctx, shape.Definition{Schema: schema, Table: table, Where: r.URL.Query().Get("where")})
	scancel()
	if err != nil {
		if !errors.Is(err, shape.ErrDefinition) {
			w.logger().Warn("web: subscribing a shape failed", "err", err)
		}
		// A refused filter is not worth reconnecting for: the page closes
		// the stream on this frame.
		_ = s.event("refused", map[string]string{"error": err.Error()})
		return
	}
	defer sub.Close()
	info := sub.Shape()
	head := shapeHeadFrame{Handle: info.Handle, Where: info.Where, Columns: make([]string, len(info.Columns))}
	for i, c := range info.Columns {
		head.Columns[i] = c.Name
	}
	if len(info.Key) == 1 {
		head.Key = info.Key[0]
	}
	if s.raw("retry: 1000\n\n") != nil || s.event("shape", head) != nil {
		return
	}

	statusEvery := w.StatusEvery
	if statusEvery <= 0 {
		statusEvery = defaultStatusEvery
	}
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	stats := func() error {
		st := w.Shapes.m.Stats()
		return s.event("stats", shapeStatsFrame{Shapes: st.Shapes, Subscriptions: st.Subscriptions, Resets: st.Resets})
	}
	empty := struct{}{}
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-sub.C():
			if !ok {
				return
			}
			switch msg.Kind {
			case shape.Insert, shape.Update, shape.Delete:
				f := shapeRowFrame{Kind: msg.Kind.String(), Key: msg.Key}
				if msg.Kind != shape.Delete {
					f.Row = msg.Row
				}
				if msg.LSN != 0 {
					f.LSN = msg.LSN.String()
				}
				err = s.event("row", f)
			case shape.Reset:
				err = s.event("reset", empty)
			case shape.UpToDate:
				if err = s.event("up-to-date", empty); err == nil {
					err = stats()
				}
			}
		case <-tick.C:
			err = stats()
		}
		if err != nil {
			return
		}
	}
}
