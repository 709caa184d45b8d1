package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thejerf/suture/v4"
)

// DefaultStopTimeout bounds how long Disable waits for a module's children.
const DefaultStopTimeout = 30 * time.Second

// Registry enables and disables Modules on a host's suture supervisor at
// run time. All methods are safe for concurrent use; Enable and Disable
// are serialised with each other, and Enabled never waits for them.
type Registry struct {
	sup *suture.Supervisor
	log *slog.Logger

	ops sync.Mutex // serialises Enable and Disable

	mu      sync.Mutex // guards modules
	modules map[string]*registered
}

type registered struct {
	module  Module
	enabled bool
	tokens  []suture.ServiceToken
	gates   []*atomic.Bool
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
// to be running.
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
	children := e.module.Children()
	tokens := make([]suture.ServiceToken, 0, len(children))
	gates := make([]*atomic.Bool, 0, len(children))
	for _, svc := range children {
		gate := new(atomic.Bool)
		gate.Store(true)
		tok := r.sup.Add(&gated{Service: svc, open: gate})
		if tok == (suture.ServiceToken{}) {
			// Roll back what was added: the module must be all or nothing.
			r.stop(key, tokens, gates, context.Background())
			return fmt.Errorf("%w: cannot enable %q", ErrSupervisorStopped, key)
		}
		tokens = append(tokens, tok)
		gates = append(gates, gate)
	}
	r.mu.Lock()
	e.enabled, e.tokens, e.gates = true, tokens, gates
	r.mu.Unlock()
	r.log.Info("phoenixkitdb: module enabled", "module", key, "children", len(children))
	return nil
}

// Disable removes exactly the children Enable added and waits until they
// have stopped, at most DefaultStopTimeout. It is idempotent.
func (r *Registry) Disable(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	return r.DisableContext(ctx, key)
}

// DisableContext is Disable with the wait bounded by ctx instead. When
// ctx ends first the module counts as disabled, its children are still
// being stopped by the supervisor, and the error wraps ErrStopTimeout.
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
	tokens, gates := e.tokens, e.gates
	e.enabled, e.tokens, e.gates = false, nil, nil
	r.mu.Unlock()
	if err := r.stop(key, tokens, gates, ctx); err != nil {
		return err
	}
	r.log.Info("phoenixkitdb: module disabled", "module", key)
	return nil
}

// stop removes services from the supervisor and waits for them.
func (r *Registry) stop(key string, tokens []suture.ServiceToken, gates []*atomic.Bool, ctx context.Context) error {
	for _, g := range gates {
		// A child queued on a supervisor that has not started yet cannot be
		// removed; its closed gate makes it end for good when it starts.
		g.Store(false)
	}
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	var errs []error
	for _, tok := range tokens {
		err := r.sup.RemoveAndWait(tok, timeout)
		switch {
		case err == nil,
			errors.Is(err, suture.ErrSupervisorNotStarted),
			errors.Is(err, suture.ErrSupervisorNotRunning):
		case errors.Is(err, suture.ErrTimeout):
			errs = append(errs, fmt.Errorf("%w: %q", ErrStopTimeout, key))
		default:
			errs = append(errs, fmt.Errorf("phoenixkitdb: disable %q: %w", key, err))
		}
	}
	return errors.Join(errs...)
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

// gated runs a module child while its gate is open. A child disabled
// before its supervisor started ends with suture.ErrDoNotRestart when the
// supervisor starts it.
type gated struct {
	suture.Service
	open *atomic.Bool
}

func (g *gated) Serve(ctx context.Context) error {
	if !g.open.Load() {
		return fmt.Errorf("phoenixkitdb: %v was disabled before it started (%w)", g.Service, suture.ErrDoNotRestart)
	}
	return g.Service.Serve(ctx)
}

// String keeps the child's own name in supervisor logs.
func (g *gated) String() string { return fmt.Sprint(g.Service) }
