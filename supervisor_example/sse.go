package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// writeTimeout bounds each SSE write: a client that stops reading is
// dropped instead of holding its handler forever.
const writeTimeout = 10 * time.Second

// operations are the values the op filter accepts.
var operations = []string{"INSERT", "UPDATE", "DELETE", "TRUNCATE"}

// streamFilter is what one SSE stream asked for.
type streamFilter struct {
	schema, table string   // both empty: every table (TopicAll)
	ops           []string // empty: every operation
}

// parseFilter reads ?table=schema.table and ?op=INSERT,UPDATE.
func parseFilter(r *http.Request) (streamFilter, error) {
	var f streamFilter
	if t := r.URL.Query().Get("table"); t != "" {
		s, n, ok := strings.Cut(t, ".")
		if !ok || s == "" || n == "" {
			return f, fmt.Errorf("table must be schema.table, not %q", t)
		}
		f.schema, f.table = s, n
	}
	if o := r.URL.Query().Get("op"); o != "" {
		for _, op := range strings.Split(o, ",") {
			op = strings.ToUpper(strings.TrimSpace(op))
			if !slices.Contains(operations, op) {
				return f, fmt.Errorf("op must be a list of %s, not %q", strings.Join(operations, ", "), op)
			}
			f.ops = append(f.ops, op)
		}
	}
	return f, nil
}

func (f streamFilter) wants(ev pubsub.Event) bool {
	return len(f.ops) == 0 || slices.Contains(f.ops, string(ev.Operation))
}

// wantsFrame reports whether a recorded change belongs to this stream:
// its table (when one was asked for) and one of its operations.
func (f streamFilter) wantsFrame(c changeFrame) bool {
	if f.table != "" && (c.Schema != f.schema || c.Table != f.table) {
		return false
	}
	return len(f.ops) == 0 || slices.Contains(f.ops, c.Operation)
}

// events streams changes as Server-Sent Events from a Mailbox of its own,
// subscribed through the change source's helpers (DB.Changes(): they warn
// in the log when the source is not running). Frames:
//
//	event: change   data: changeFrame JSON   (a table changed)
//	event: resync   data: resyncFrame JSON   (changes may be lost: reload)
//	event: history  data: historyFrame JSON  (once, after the first status: the latest changes before this stream)
//	event: status   data: statusFrame JSON   (on connect, after a resync, every StatusEvery)
//	: heartbeat                              (every HeartbeatEvery)
//
// The stream ends when the request context ends (the client left or the
// server shuts down) or a write fails; the Mailbox is closed then.
func (w *web) events(rw http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	capacity := w.MailboxCapacity
	if capacity <= 0 {
		capacity = defaultMailboxCapacity
	}
	// In -cluster mode the stream reads one instance's PubSub (see
	// streamMember); frames carry every instance's state.
	var changes phoenixkitdb.ChangeSource
	status, serving := w.status, func() bool { return true }
	if w.Cluster != nil {
		m, follow, err := w.streamMember(r)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		changes = m.db.Changes()
		status = func(dropped uint64) statusFrame { return w.clusterFrame(dropped, m.n) }
		serving = func() bool { return !follow || m.enabled() }
	} else {
		changes = w.DB.Changes()
	}
	// The latest changes are read before the stream subscribes: a change
	// in between may be missing from the list, but none shows twice.
	var history historyFrame
	if w.Recent != nil && w.Cluster == nil {
		history.Changes, history.Total = w.Recent.Snapshot(f)
	}
	mb := pubsub.NewMailbox(capacity)
	defer mb.Close()
	if f.table != "" {
		err = changes.Subscribe(mb, f.schema, f.table)
	} else {
		err = changes.SubscribeAll(mb)
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}

	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // keep reverse proxies from buffering
	rw.WriteHeader(http.StatusOK)
	s := &sseWriter{rw: rw, rc: http.NewResponseController(rw)}
	// retry: how long the browser waits before reconnecting a lost stream.
	if s.raw("retry: 1000\n\n") != nil || s.event("status", status(0)) != nil {
		return
	}
	if history.Changes == nil {
		history.Changes = []changeFrame{}
	}
	if s.event("history", history) != nil {
		return
	}

	statusEvery, heartbeatEvery := w.StatusEvery, w.HeartbeatEvery
	if statusEvery <= 0 {
		statusEvery = defaultStatusEvery
	}
	if heartbeatEvery <= 0 {
		heartbeatEvery = defaultHeartbeatEvery
	}
	statusTick := time.NewTicker(statusEvery)
	defer statusTick.Stop()
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()

	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-mb.C():
			if !ok {
				return
			}
			switch ev.Kind {
			case pubsub.TableChanged:
				if f.wants(ev) {
					err = s.event("change", newChangeFrame(ev, time.Now()))
				}
			case pubsub.Resync:
				err = s.event("resync", resyncFrame{Reason: string(ev.Reason), At: time.Now()})
				if err == nil {
					err = s.event("status", status(mb.Dropped()))
				}
			}
		case <-statusTick.C:
			if !serving() {
				// The instance this stream followed was stopped: end the
				// stream, and the browser reconnects to a live one.
				return
			}
			// Keeps the "not running" warning in the log while the page
			// waits for a module that is disabled (rate-limited there).
			changes.EnsureStarted()
			err = s.event("status", status(mb.Dropped()))
		case <-heartbeat.C:
			err = s.raw(": heartbeat\n\n")
		}
		if err != nil {
			return
		}
	}
}

// historyFrame is the JSON of the SSE history frame: the latest changes
// this stream wants that happened before it opened, oldest first (at most
// recentSize of every table's), and how many changes were recorded in all.
type historyFrame struct {
	Changes []changeFrame `json:"changes"`
	Total   uint64        `json:"total"`
}

// sseWriter writes SSE frames, each flushed at once.
type sseWriter struct {
	rw http.ResponseWriter
	rc *http.ResponseController
}

// event writes one frame named name with v as its JSON data (JSON never
// contains a raw newline, so one data line suffices).
func (s *sseWriter) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw("event: " + name + "\ndata: " + string(data) + "\n\n")
}

// raw writes text and flushes it, within writeTimeout.
func (s *sseWriter) raw(text string) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.rw.Write([]byte(text)); err != nil {
		return err
	}
	return s.rc.Flush()
}
