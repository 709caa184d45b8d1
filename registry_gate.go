package phoenixkitdb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/thejerf/suture/v4"
)

// gated is what the Registry adds to the supervisor for each module child:
// one per child and per Enable. It runs the child while its gate is open
// and tells, through done, when it will never run the child again.
//
// Two things make a re-enable safe while an earlier run is still stopping
// (a Disable whose context ended first). The supervisor would otherwise
// call the child's Serve a second time concurrently, and services that
// refuse that (listener.ErrAlreadyRunning, pubsub.ErrAlreadyServing, both
// wrapped in suture.ErrDoNotRestart) would be dropped by suture for good.
//   - after holds the done channels of the module's earlier wrappers that
//     had not finished when this one was made: Serve waits for them before
//     it calls the child.
//   - done is closed once the gate is shut and the child's Serve is not
//     running, so the Registry can wait for a stop without asking suture
//     (RemoveAndWait leaks a goroutine per call that times out).
type gated struct {
	suture.Service
	after []<-chan struct{} // read-only after construction
	log   *slog.Logger
	key   string

	mu     sync.Mutex
	open   bool // false once the module was disabled (or Enable rolled back)
	active bool // the child's Serve is running
	done   chan struct{}
	closed bool // done is closed
}

func newGated(svc suture.Service, after []<-chan struct{}, log *slog.Logger, key string) *gated {
	return &gated{Service: svc, after: after, log: log, key: key, open: true, done: make(chan struct{})}
}

// Serve waits for the module's earlier runs to end, then serves the child
// unless the gate was shut meanwhile. A shut gate ends with
// suture.ErrDoNotRestart, so that a child disabled before its supervisor
// started is dropped when the supervisor starts it.
func (g *gated) Serve(ctx context.Context) error {
	if err := g.waitEarlier(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	if !g.open {
		g.mu.Unlock()
		return fmt.Errorf("phoenixkitdb: %v was disabled before it started (%w)", g.Service, suture.ErrDoNotRestart)
	}
	g.active = true
	g.mu.Unlock()
	// Deferred so that a panic (recovered by suture) also counts as the end
	// of the run.
	defer func() {
		g.mu.Lock()
		g.active = false
		g.finishLocked()
		g.mu.Unlock()
	}()
	return g.Service.Serve(ctx)
}

// waitEarlier blocks until every earlier run of the module has ended, or
// ctx ends (the supervisor removed or stopped this wrapper).
func (g *gated) waitEarlier(ctx context.Context) error {
	earlier := unfinished(g.after)
	if len(earlier) == 0 {
		return nil
	}
	g.log.Info("phoenixkitdb: module child waits for its previous run to stop",
		"module", g.key, "child", fmt.Sprint(g.Service))
	if !waitClosed(ctx, earlier) {
		return ctx.Err()
	}
	return nil
}

// shut closes the gate: the child is never served again by this wrapper.
// done is closed now if the child is not running, else when it returns.
func (g *gated) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = false
	g.finishLocked()
}

func (g *gated) finishLocked() {
	if !g.open && !g.active && !g.closed {
		g.closed = true
		close(g.done)
	}
}

// String keeps the child's own name in supervisor logs.
func (g *gated) String() string { return fmt.Sprint(g.Service) }

// unfinished returns the channels in chans that are not closed yet.
func unfinished(chans []<-chan struct{}) []<-chan struct{} {
	var out []<-chan struct{}
	for _, ch := range chans {
		select {
		case <-ch:
		default:
			out = append(out, ch)
		}
	}
	return out
}

// waitClosed blocks until every channel in chans is closed or ctx ends,
// whichever comes first; it reports whether all were closed. A channel
// already closed counts even when ctx has ended too.
func waitClosed(ctx context.Context, chans []<-chan struct{}) bool {
	for _, ch := range chans {
		select {
		case <-ch:
			continue
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
