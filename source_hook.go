package phoenixkitdb

import (
	"sync/atomic"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// ServiceChangeSource is a change source that a supervisor can run: the
// Listener or the replication Source.
type ServiceChangeSource interface {
	ChangeSource
	suture.Service
}

// changesHook holds what SetChanges installed.
type changesHook struct {
	cs atomic.Pointer[changesBox]
}

// changesBox lets an interface value live in an atomic.Pointer.
type changesBox struct{ cs ChangeSource }

func (h *changesHook) get() ChangeSource {
	if b := h.cs.Load(); b != nil {
		return b.cs
	}
	return nil
}

// NewChangeSource returns a new change source of db's kind (a Listener, or
// a replication Source in WAL mode) built from db's Config, publishing to
// ps instead of db's PubSub. It is for wrappers such as the cluster
// module, whose leader runs the source and relays what it publishes; the
// caller runs the returned service itself. It does not connect.
func (db *DB) NewChangeSource(ps *pubsub.PubSub) (ServiceChangeSource, error) {
	return db.NewChangeSourceWith(ps, ChangeSourceOptions{})
}

// ChangeSourceOptions are what a wrapper adds to db's Config when it
// builds its own change source with NewChangeSourceWith. The zero value
// adds nothing.
type ChangeSourceOptions struct {
	// ConfirmLimit becomes the replication Source's
	// replication.Config.ConfirmLimit in WAL mode: the Source confirms no
	// position past what it returns. The cluster module's leader sets it
	// to what its relay has stored. Ignored in NOTIFY mode.
	ConfirmLimit func() pubsub.LSN
	// TakeOverSlot becomes replication.Config.TakeOverSlot in WAL mode:
	// the Source ends the backend that holds the slot instead of waiting
	// for it to go. The cluster module's leader sets it. Ignored in NOTIFY
	// mode.
	TakeOverSlot bool
}

// NewChangeSourceWith is NewChangeSource with opts applied.
func (db *DB) NewChangeSourceWith(ps *pubsub.PubSub, opts ChangeSourceOptions) (ServiceChangeSource, error) {
	if db.cfg.Source == SourceWAL {
		rc := walSourceConfig(db.cfg, ps, db.cfg.Logger)
		rc.ConfirmLimit = opts.ConfirmLimit
		rc.TakeOverSlot = opts.TakeOverSlot
		return replication.New(rc)
	}
	d, err := newWithPubSub(db.cfg, ps, db.cfg.Logger)
	if err != nil {
		return nil, err
	}
	return d.l, nil
}

// Source returns the kind of change source db was configured with.
func (db *DB) Source() SourceKind { return db.cfg.Source }

// SetChanges makes Changes, Ready and WaitReady use cs instead of db's own
// source; nil restores the default. A wrapper that feeds db's PubSub by
// other means (the cluster module's follower) installs itself, so that
// host code subscribing through Changes sees the state of what really
// feeds its mailboxes. Safe for concurrent use.
func (db *DB) SetChanges(cs ChangeSource) {
	if cs == nil {
		db.hook.cs.Store(nil)
		return
	}
	db.hook.cs.Store(&changesBox{cs: cs})
}
