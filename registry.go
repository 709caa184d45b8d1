package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/thejerf/suture/v4"
)

// DefaultStopTimeout bounds how long Disable waits for a module's children.
const DefaultStopTimeout = 30 * time.Second

// Registry enables and disables Modules on a host's suture supervisor at
// run time. All methods are safe for concurrent use; Enable and Disable
// are serialised with each other (one waits while the other runs), and
// Enabled, Modules and Register never wait for them.
//
// Each child is added to the supervisor inside a wrapper that knows when
// the child's Serve has returned. The Registry waits on that itself rather
// than through suture's RemoveAndWait, so a wait that gives up leaves no
// goroutine behind, and a module enabled again while its previous children
// are still stopping starts them only once those have returned (a
// Listener or PubSub never runs twice at once, which would make suture
// drop it for good).
type Registry struct {
	sup *suture.Supervisor
	log *slog.Logger

	ops sync.Mutex // serialises Enable and Disable; guards registered.earlier

	mu      sync.Mutex // guards modules and the other fields of registered
	modules map[string]*registered
}

type registered struct {
	module  Module
	enabled bool
	tokens  []suture.ServiceToken
	runs    []*gated // the wrappers of the current enablement
	// earlier holds the done channels of wrappers from earlier
	// enablements that had not finished when last looked at.
	earlier []<-chan struct{}
}

// NewRegistry returns a Registry that adds module children to sup and logs
// to logger (nil means slog.Default()).
func NewRegistry(sup *suture.Supervisor, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.Default()
	}
	return &Registry{sup: sup, log: logger, modules: make(map[string]*registered)}
}

// Register adds m, disabled. A key already registered gives an error
// wrapping ErrDuplicateModule.
func (r *Registry) Register(m Module) error {
	if m == nil || m.Key() == "" {
		return ErrInvalidModule
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.modules[m.Key()]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateModule, m.Key())
	}
	r.modules[m.Key()] = &registered{module: m}
	return nil
}

// Modules returns the registered modules, sorted by key.
func (r *Registry) Modules() []Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Module, 0, len(r.modules))
	for _, e := range r.modules {
		out = append(out, e.module)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Enabled reports whether the module is enabled; false for an unknown key.
// It never waits for a running Enable or Disable.
func (r *Registry) Enabled(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.modules[key]
	return ok && e.enabled
}

// Enable adds the module's Children to the supervisor. It is idempotent
// and works before the supervisor serves (the children start with it)
// and while it serves (they start now). It does not wait for the children
// to be running, nor for the children of an earlier enablement that a
// timed-out DisableContext left stopping: the new children's Serve waits
// for those to return first, then runs.
//
// Enable blocks only while a Disable of any module runs, and for the
// supervisor to take the children. On a supervisor that has ended it
// removes what it added, leaves the module disabled and returns an error
// wrapping ErrSupervisorStopped.
func (r *Registry) Enable(key string) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	e, err := r.lookup(key)
	if err != nil {
		return err
	}
	if r.isEnabled(e) {
		return nil
	}
	e.earlier = unfinished(e.earlier)
	children := e.module.Children()
	tokens := make([]suture.ServiceToken, 0, len(children))
	runs := make([]*gated, 0, len(children))
	for _, svc := range children {
		// Each wrapper gets its own copy: e.earlier grows on Disable.
		g := newGated(svc, slices.Clone(e.earlier), r.log, key)
		runs = append(runs, g)
		tok := r.sup.Add(g)
		if tok == (suture.ServiceToken{}) {
			r.rollback(e, tokens, runs)
			return fmt.Errorf("%w: cannot enable %q", ErrSupervisorStopped, key)
		}
		tokens = append(tokens, tok)
	}
	r.mu.Lock()
	e.enabled, e.tokens, e.runs = true, tokens, runs
	r.mu.Unlock()
	r.log.Info("phoenixkitdb: module enabled", "module", key, "children", len(children))
	return nil
}

// rollback undoes a partial Enable on a supervisor that has ended: the
// module must be all or nothing. Children already added were stopped by
// the supervisor's end (or their shut gate ends them if they have not
// started); those still returning are kept in e.earlier, so that nothing
// of this module runs again before they have returned.
func (r *Registry) rollback(e *registered, tokens []suture.ServiceToken, runs []*gated) {
	for _, g := range runs {
		g.shut()
	}
	for _, tok := range tokens {
		// The supervisor has ended: Remove returns at once, and its error
		// adds nothing to ErrSupervisorStopped.
		_ = r.sup.Remove(tok)
	}
	for _, g := range runs {
		e.earlier = append(e.earlier, g.done)
	}
	e.earlier = unfinished(e.earlier)
}

// Disable removes exactly the children Enable added and waits until they
// have stopped, at most DefaultStopTimeout. It is idempotent.
func (r *Registry) Disable(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	return r.DisableContext(ctx, key)
}

// DisableContext is Disable with the wait bounded by ctx instead: it
// returns when the module's children (and any of an earlier enablement
// still stopping) have returned from Serve, or as soon as ctx ends,
// whether by its deadline or by cancellation. The module is disabled
// either way; when ctx ended first its children are still being stopped
// by the supervisor and the error wraps both ErrStopTimeout and ctx.Err()
// (context.DeadlineExceeded or context.Canceled). Enabling the module
// again then is safe: the new children start once the old ones returned.
//
// Besides that wait, DisableContext blocks while another Enable or
// Disable runs, and for the supervisor's goroutine to take the removal
// (not bounded by ctx; the supervisor takes it at once unless one of its
// EventHooks blocks). It starts no goroutine.
func (r *Registry) DisableContext(ctx context.Context, key string) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	e, err := r.lookup(key)
	if err != nil {
		return err
	}
	if !r.isEnabled(e) {
		return nil
	}
	r.mu.Lock()
	tokens, runs := e.tokens, e.runs
	e.enabled, e.tokens, e.runs = false, nil, nil
	r.mu.Unlock()

	for _, g := range runs {
		// A child queued on a supervisor that has not started yet cannot be
		// removed; its shut gate makes it end for good when it starts.
		g.shut()
		e.earlier = append(e.earlier, g.done)
	}
	var errs []error
	for _, tok := range tokens {
		// Remove does not wait: the wait below does, bounded by ctx.
		switch err := r.sup.Remove(tok); {
		case err == nil, errors.Is(err, suture.ErrSupervisorNotStarted):
		default:
			errs = append(errs, fmt.Errorf("phoenixkitdb: disable %q: %w", key, err))
		}
	}
	if !waitClosed(ctx, e.earlier) {
		errs = append(errs, fmt.Errorf("%w: %q: %w", ErrStopTimeout, key, ctx.Err()))
		r.log.Warn("phoenixkitdb: module disabled; its children are still stopping", "module", key, "err", ctx.Err())
	}
	e.earlier = unfinished(e.earlier)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	r.log.Info("phoenixkitdb: module disabled", "module", key)
	return nil
}

func (r *Registry) lookup(key string) (*registered, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.modules[key]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownModule, key)
	}
	return e, nil
}

func (r *Registry) isEnabled(e *registered) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return e.enabled
}
