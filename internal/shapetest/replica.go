package shapetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// Replica is a subscriber's copy of a shape, kept by a goroutine that
// applies the subscription's messages until its channel closes.
type Replica struct {
	Def  shape.Definition
	Sub  *shape.Subscription
	Cols []string // the shape's columns, key included
	slow time.Duration
	// loose allows Insert of a key held, Update and Delete of one not
	// held: NOTIFY mode's weaker guarantee.
	loose bool

	mu       sync.Mutex
	rows     map[string]string // key -> rendered row
	upToDate bool
	resets   int
	bad      []string // protocol violations
	// history holds the last messages of each key, for the report of a
	// violation.
	history map[string][]string

	applied atomic.Uint64
	changed chan struct{} // signalled after every message
	done    chan struct{}
}

// Follow starts a replica of sub, a subscription of def. slow is a pause
// per message (to make the subscriber fall behind); loose accepts NOTIFY
// mode's weaker guarantee (Insert as upsert, Update or Delete of a key
// not held).
func Follow(sub *shape.Subscription, def shape.Definition, slow time.Duration, loose bool) *Replica {
	r := &Replica{Def: def, Sub: sub, slow: slow, loose: loose, rows: map[string]string{}, history: map[string][]string{}, changed: make(chan struct{}, 1), done: make(chan struct{})}
	for _, c := range sub.Shape().Columns {
		r.Cols = append(r.Cols, c.Name)
	}
	go r.run()
	return r
}

func (r *Replica) run() {
	defer close(r.done)
	for msg := range r.Sub.C() {
		if r.slow > 0 {
			time.Sleep(r.slow)
		}
		r.mu.Lock()
		if msg.Key != "" {
			h := append(r.history[msg.Key], fmt.Sprintf("%v@%v/%d", msg.Kind, msg.LSN, msg.Seq))
			r.history[msg.Key] = h[max(0, len(h)-4):]
		}
		switch msg.Kind {
		case shape.Insert:
			if _, dup := r.rows[msg.Key]; dup && r.upToDate && !r.loose {
				r.bad = append(r.bad, fmt.Sprintf("insert of a key held: %s at %v/%d resets %d (%v)", msg.Key, msg.LSN, msg.Seq, r.resets, r.history[msg.Key]))
			}
			r.rows[msg.Key] = render(msg.Row, r.Cols, r.rows[msg.Key])
		case shape.Update:
			if _, ok := r.rows[msg.Key]; !ok && !r.loose {
				r.bad = append(r.bad, fmt.Sprintf("update of a key not held: %s at %v/%d resets %d (%v)", msg.Key, msg.LSN, msg.Seq, r.resets, r.history[msg.Key]))
			}
			r.rows[msg.Key] = render(msg.Row, r.Cols, r.rows[msg.Key])
		case shape.Delete:
			if _, ok := r.rows[msg.Key]; !ok && !r.loose {
				r.bad = append(r.bad, fmt.Sprintf("delete of a key not held: %s at %v/%d resets %d (%v)", msg.Key, msg.LSN, msg.Seq, r.resets, r.history[msg.Key]))
			}
			delete(r.rows, msg.Key)
		case shape.Reset:
			clear(r.rows)
			clear(r.history)
			r.upToDate = false
			r.resets++
		case shape.UpToDate:
			r.upToDate = true
		}
		r.mu.Unlock()
		r.applied.Add(1)
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// render formats a row's columns as "name=text" lines, NULL as "name=∅";
// an unchanged TOASTed column keeps the previous rendering's value.
func render(row *pubsub.Row, cols []string, prev string) string {
	var b strings.Builder
	for _, c := range cols {
		switch row.State(c) {
		case pubsub.Present:
			t, _ := row.Text(c)
			fmt.Fprintf(&b, "%s=%s\n", c, t)
		case pubsub.Null:
			fmt.Fprintf(&b, "%s=∅\n", c)
		default:
			for _, line := range strings.Split(prev, "\n") {
				if strings.HasPrefix(line, c+"=") {
					b.WriteString(line + "\n")
				}
			}
		}
	}
	return b.String()
}

// Drained waits until the replica applied every message its subscription
// put into C and none is left.
func (r *Replica) Drained(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// The subscription counts a message delivered after handing it over,
	// so the count may move after the replica's last signal: look again
	// now and then, not only when the replica applies something.
	recheck := time.NewTicker(10 * time.Millisecond)
	defer recheck.Stop()
	for {
		if r.Sub.Pending() == 0 && r.applied.Load() == r.Sub.Delivered() {
			return
		}
		select {
		case <-r.changed:
		case <-recheck.C:
		case <-deadline.C:
			t.Fatalf("replica of %+v not drained: pending %d, applied %d of %d", r.Def, r.Sub.Pending(), r.applied.Load(), r.Sub.Delivered())
		}
	}
}

// WaitFor waits until cond holds for the replica's rows.
func (r *Replica) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(rows map[string]string) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r.rows)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Rows returns a copy of the replica's rows, each rendered as
// "column=text" lines.
func (r *Replica) Rows() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.rows)
}

// State returns whether the replica is up to date, how many Resets it
// got and the protocol violations it saw.
func (r *Replica) State() (upToDate bool, resets int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.upToDate, r.resets, slices.Clone(r.bad)
}
