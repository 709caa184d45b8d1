// Package changesource is the plumbing between the root's change module
// (phoenixkitdb.DB) and the cluster module, which replaces the DB module
// in a host's supervisor tree: it builds a change source from the DB's
// configuration publishing to another PubSub (the cluster leader's relay),
// and lets the cluster's follower stand in as the DB's active change
// source. Nothing here is part of the public API.
package changesource

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// Source has the methods of phoenixkitdb.ChangeSource, documented there.
type Source interface {
	Subscribe(mb *pubsub.Mailbox, schema, table string) error
	Unsubscribe(mb *pubsub.Mailbox, schema, table string) error
	SubscribeAll(mb *pubsub.Mailbox) error
	UnsubscribeAll(mb *pubsub.Mailbox) error
	Running() bool
	Connected() bool
	EnsureStarted()
	Ready() bool
	WaitReady(ctx context.Context) error
}

// Service is a change source a supervisor can run: a *listener.Listener
// or a *replication.Source.
type Service interface {
	Source
	suture.Service
}

var (
	_ Service = (*listener.Listener)(nil)
	_ Service = (*replication.Source)(nil)
)

// Options are what a wrapper adds to the DB's configuration when it builds
// its own change source. The zero value adds nothing.
type Options struct {
	// ConfirmLimit becomes replication.Config.ConfirmLimit in WAL mode.
	// The cluster module's leader sets it to what its relay has stored.
	ConfirmLimit func() pubsub.LSN
	// TakeOverSlot becomes replication.Config.TakeOverSlot in WAL mode.
	TakeOverSlot bool
}

// Plumbing holds a DB's source configuration (already translated from the
// DB's Config, without a PubSub) and the change source installed in its
// place. Safe for concurrent use.
type Plumbing struct {
	useWAL   bool
	lc       listener.Config
	rc       replication.Config
	override atomic.Pointer[box]
}

// box lets an interface value live in an atomic.Pointer.
type box struct{ s Source }

// New returns the plumbing of a DB whose source is the replication Source
// configured by rc when useWAL is set, else the Listener configured by lc.
func New(useWAL bool, lc listener.Config, rc replication.Config) *Plumbing {
	return &Plumbing{useWAL: useWAL, lc: lc, rc: rc}
}

// WAL reports whether the DB's source is the replication Source.
func (p *Plumbing) WAL() bool { return p.useWAL }

// Build returns a new change source of the DB's kind publishing to ps,
// with o applied. It validates the configuration (errors wrap the source
// package's ErrInvalidConfig) and does not connect; the caller runs it.
func (p *Plumbing) Build(ps *pubsub.PubSub, o Options) (Service, error) {
	if ps == nil {
		return nil, fmt.Errorf("%w: nil PubSub", pgsql.ErrInvalidConfig)
	}
	if p.useWAL {
		rc := p.rc
		rc.PubSub = ps
		if o.ConfirmLimit != nil {
			rc.ConfirmLimit = o.ConfirmLimit
		}
		rc.TakeOverSlot = rc.TakeOverSlot || o.TakeOverSlot
		return replication.New(rc)
	}
	lc := p.lc
	lc.PubSub = ps
	return listener.New(lc)
}

// Override returns the change source installed with SetOverride, or nil.
func (p *Plumbing) Override() Source {
	if b := p.override.Load(); b != nil {
		return b.s
	}
	return nil
}

// SetOverride makes the DB's Changes, Ready and WaitReady use s instead of
// its own source; nil restores the default. The cluster module's follower,
// which feeds the DB's PubSub from the stream, installs itself.
func (p *Plumbing) SetOverride(s Source) {
	if s == nil {
		p.override.Store(nil)
		return
	}
	p.override.Store(&box{s: s})
}

// Handle is embedded (through an unexported alias) in phoenixkitdb.DB, so
// that Of finds a DB's plumbing without the DB exporting anything for it:
// its one method is unexported, so it adds nothing to the DB's API.
type Handle struct{ p *Plumbing }

// Handle returns p's handle.
func (p *Plumbing) Handle() Handle { return Handle{p: p} }

func (h Handle) plumbing() *Plumbing { return h.p }

// holder is what embeds a Handle.
type holder interface{ plumbing() *Plumbing }

// Of returns the plumbing of m, a *phoenixkitdb.DB, or nil when m holds
// none.
func Of(m any) *Plumbing {
	if h, ok := m.(holder); ok {
		return h.plumbing()
	}
	return nil
}
