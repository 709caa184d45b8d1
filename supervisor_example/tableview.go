package main

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// tableViewTimeout bounds the table view's queries.
const tableViewTimeout = 5 * time.Second

// tablePage serves the page for one watched table (its rows, kept
// current, and its changes); any other name answers 404, so a mistyped or
// hostile URL never looks like a table waiting for changes.
func (w *web) tablePage(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), tableViewTimeout)
	defer cancel()
	ok, err := w.Rows.Watched(ctx, r.PathValue("schema"), r.PathValue("table"))
	switch {
	case err != nil:
		w.logger().Warn("web: checking a table failed", "err", err)
		http.Error(rw, "checking the table failed", http.StatusServiceUnavailable)
		return
	case !ok:
		http.Error(rw, "404: not a watched table (no change trigger); see / for the list", http.StatusNotFound)
		return
	}
	w.page(rw, r)
}

// rows answers GET /api/tables/{schema}/{table}/rows: the table view's
// first page, newest first.
func (w *web) rows(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), tableViewTimeout)
	defer cancel()
	tr, err := w.Rows.Rows(ctx, r.PathValue("schema"), r.PathValue("table"))
	if err != nil {
		w.tableError(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, tr)
}

// row answers GET /api/tables/{schema}/{table}/rows/{id}: one row by the
// id a change carried, or 404 when it is gone.
func (w *web) row(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), tableViewTimeout)
	defer cancel()
	row, found, err := w.Rows.Row(ctx, r.PathValue("schema"), r.PathValue("table"), r.PathValue("id"))
	switch {
	case err != nil:
		w.tableError(rw, err)
	case !found:
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no such row"})
	default:
		writeJSON(rw, http.StatusOK, map[string]any{"row": row})
	}
}

// tableError answers 404 for a table that is not watched and 503 (with
// the database's message, which names no secret) otherwise.
func (w *web) tableError(rw http.ResponseWriter, err error) {
	if errors.Is(err, errNotWatched) {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "not a watched table"})
		return
	}
	w.logger().Warn("web: reading a table failed", "err", err)
	writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "reading the table failed: " + err.Error()})
}
