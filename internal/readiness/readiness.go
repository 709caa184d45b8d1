// Package readiness holds the "changes flow" flag that the change sources
// (listener and replication) share: a boolean to read at any time and a
// channel to wait on until it turns true.
package readiness

import (
	"context"
	"sync"
)

// Flag is whether changes flow right now. The zero value is a flag that
// is not set. All methods are safe for concurrent use and never block
// beyond a short critical section, except Wait.
type Flag struct {
	mu    sync.Mutex
	ready bool
	ch    chan struct{} // closed when ready turns true; replaced when it turns false
}

// Set records whether changes flow, waking every Wait when it turns true.
func (f *Flag) Set(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	switch {
	case v && !f.ready:
		close(f.ch)
	case !v && f.ready:
		f.ch = make(chan struct{})
	}
	f.ready = v
}

// Get reports whether the flag is set.
func (f *Flag) Get() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

// Wait blocks until the flag is set or ctx ends; it returns nil at once
// when it is set already, and ctx.Err() when ctx ends first.
func (f *Flag) Wait(ctx context.Context) error {
	for {
		f.mu.Lock()
		if f.ch == nil {
			f.ch = make(chan struct{})
		}
		ok, ch := f.ready, f.ch
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
