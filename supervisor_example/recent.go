package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// recentSize is how many of the latest changes a page is sent when its
// stream opens.
const recentSize = 100

// recent keeps the latest changes of every table, so that a page opened
// now lists what happened before it instead of starting empty under a
// status line that counts them. It is a suture service: Serve subscribes a
// Mailbox of its own to every table's changes and records what arrives
// until ctx ends. A Resync records nothing: a change lost then is missing
// from the list too. Snapshot is safe for concurrent use.
type recent struct {
	changes phoenixkitdb.ChangeSource

	mu    sync.Mutex
	ring  []changeFrame // the last len(ring) changes; ring[total%recentSize] is the oldest once full
	total uint64        // changes recorded since the start
}

func newRecent(changes phoenixkitdb.ChangeSource) *recent {
	return &recent{changes: changes, ring: make([]changeFrame, 0, recentSize)}
}

// String names the service in supervisor logs.
func (r *recent) String() string { return "supervisor_example/recent" }

// Serve records changes until ctx ends; it returns ctx's error, or the
// subscription's.
func (r *recent) Serve(ctx context.Context) error {
	mb := pubsub.NewMailbox(defaultMailboxCapacity)
	defer mb.Close()
	if err := r.changes.SubscribeAll(mb); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-mb.C():
			if !ok {
				return nil
			}
			if ev.Kind == pubsub.TableChanged {
				r.record(newChangeFrame(ev, time.Now()))
			}
		}
	}
}

func (r *recent) record(f changeFrame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) < recentSize {
		r.ring = append(r.ring, f)
	} else {
		r.ring[r.total%recentSize] = f
	}
	r.total++
}

// Snapshot returns the recorded changes f wants, oldest first, and how
// many changes were recorded in all.
func (r *recent) Snapshot(f streamFilter) (frames []changeFrame, total uint64) {
	r.mu.Lock()
	all := make([]changeFrame, 0, len(r.ring))
	if len(r.ring) < recentSize {
		all = append(all, r.ring...)
	} else {
		i := int(r.total % recentSize)
		all = append(append(all, r.ring[i:]...), r.ring[:i]...)
	}
	total = r.total
	r.mu.Unlock()
	return slices.DeleteFunc(all, func(c changeFrame) bool { return !f.wantsFrame(c) }), total
}
