package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// clusterRoutes adds the -cluster endpoints to mux:
//
//	POST /cluster/stop-leader           disable the leading instance's module (another takes over)
//	POST /cluster/members/{n}/enable    enable instance n's module again
//	POST /cluster/members/{n}/disable   disable it
//
// GET /events takes ?member=N to stream instance N's changes; without it
// the stream follows an enabled follower (see events).
func (w *web) clusterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /cluster/stop-leader", w.stopLeader)
	mux.HandleFunc("POST /cluster/members/{n}/enable", w.toggleMember(true))
	mux.HandleFunc("POST /cluster/members/{n}/disable", w.toggleMember(false))
}

// clusterFrame is the status in -cluster mode: the leader's change source
// (the first instance's, stopped, while none leads), the module enabled
// while any instance's is, and every instance; serving is the instance
// feeding the SSE stream (0 outside SSE).
func (w *web) clusterFrame(dropped uint64, serving int) statusFrame {
	cs := w.Cluster
	kind, st := changeSourceStatus(cs.sourceMember().cl.Source())
	cst := cs.status()
	cst.Serving = serving
	enabled := false
	for _, m := range cst.Members {
		enabled = enabled || m.Enabled
	}
	return statusFrame{
		Module: w.Module, Enabled: enabled, Source: kind, Listener: st,
		Dropped: dropped, Cluster: cst, At: time.Now(),
	}
}

// changeSourceStatus returns the kind and stats of a change source the
// cluster module runs.
func changeSourceStatus(src phoenixkitdb.ChangeSource) (string, sourceStats) {
	switch s := src.(type) {
	case *replication.Source:
		return phoenixkitdb.SourceWAL.String(), fromReplicationStats(s)
	case *listener.Listener:
		return phoenixkitdb.SourceNotify.String(), fromListenerStats(s.Stats())
	}
	return "", sourceStats{State: "stopped"}
}

// streamMember returns the instance whose changes an SSE stream reads:
// ?member=N, or, without it, the one clusterSet.pick chooses; follow is
// true in the latter case, and the stream then ends when that instance
// is disabled, so that the browser reconnects to a live one.
func (w *web) streamMember(r *http.Request) (m *member, follow bool, err error) {
	q := r.URL.Query().Get("member")
	if q == "" {
		return w.Cluster.pick(), true, nil
	}
	n, err := strconv.Atoi(q)
	if m = w.Cluster.member(n); err != nil || m == nil {
		return nil, false, errors.New("member must be an instance number, 1 to " + strconv.Itoa(len(w.Cluster.members)))
	}
	return m, false, nil
}

// stopLeader disables the leading instance's module, waiting (at most
// 5 s) until its services stopped; its lease is released then and
// another instance takes over. 409 while no instance leads.
func (w *web) stopLeader(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	m, err := w.Cluster.stopLeader(ctx)
	switch {
	case errors.Is(err, errNoLeader):
		writeJSON(rw, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	case err != nil:
		w.logger().Warn("web: stopping the leader failed", "member", m.n, "err", err)
		writeJSON(rw, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.logger().Info("cluster demo: leader stopped from the page; another instance takes over", "member", m.n)
	writeJSON(rw, http.StatusOK, map[string]any{"stopped": m.n})
}

// toggleMember enables or disables instance n's module through its
// Registry.
func (w *web) toggleMember(enable bool) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		m := w.Cluster.member(n)
		if err != nil || m == nil {
			writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no such instance"})
			return
		}
		if enable {
			err = m.reg.Enable(m.cl.Key())
		} else {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			err = m.reg.DisableContext(ctx, m.cl.Key())
		}
		if err != nil {
			w.logger().Warn("web: instance toggle failed", "member", n, "enable", enable, "err", err)
			writeJSON(rw, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		w.logger().Info("cluster demo: instance toggled from the page", "member", n, "enabled", enable)
		writeJSON(rw, http.StatusOK, map[string]any{"member": n, "enabled": m.enabled()})
	}
}
