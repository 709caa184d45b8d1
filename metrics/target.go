package metrics

import (
	"errors"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Errors returned by New; match them with errors.Is.
var (
	// ErrNilTarget: a Target was built from a nil DB, Listener, PubSub or
	// Source.
	ErrNilTarget = errors.New("metrics: nil target")
	// ErrDuplicateLabels: two sources, or two PubSubs, have the same
	// Labels, or two cluster members the same stream; their series would
	// collide at every scrape.
	ErrDuplicateLabels = errors.New("metrics: duplicate labels")
	// ErrInvalidLabels: a target's Labels have no Source, or neither a
	// Channel nor a Slot; or a Cluster target has no stream name.
	ErrInvalidLabels = errors.New("metrics: invalid labels")
)

// Target is something New exports: build it with DB, Listener, PubSub,
// FromSource or Cluster. The zero Target exports nothing.
type Target struct {
	sources  []Source
	pubsubs  []pubsubTarget
	clusters []clusterTarget
	err      error
}

// pubsubTarget is a PubSub with the labels of the stream that feeds it.
type pubsubTarget struct {
	ps     *pubsub.PubSub
	labels Labels
}

// DB exports a DB module: its change source and its PubSub, labelled
// source="notify" and the Listener's channel, or, in WAL mode,
// source="wal" and the replication slot (see Replication).
func DB(db *phoenixkitdb.DB) Target {
	if db == nil {
		return Target{err: fmt.Errorf("%w: DB", ErrNilTarget)}
	}
	if src := db.Replication(); src != nil {
		return Replication(src)
	}
	t := Listener(db.Listener())
	t.pubsubs = []pubsubTarget{{ps: db.PubSub(), labels: listenerSource{db.Listener()}.Labels()}}
	return t
}

// Listener exports a Listener's connection, notification and probe
// metrics (not its PubSub's: add PubSub for those).
func Listener(l *listener.Listener) Target {
	if l == nil {
		return Target{err: fmt.Errorf("%w: Listener", ErrNilTarget)}
	}
	return Target{sources: []Source{listenerSource{l}}}
}

// PubSub exports a PubSub's delivery metrics with the labels of the
// stream that feeds it.
func PubSub(ps *pubsub.PubSub, labels Labels) Target {
	if ps == nil {
		return Target{err: fmt.Errorf("%w: PubSub", ErrNilTarget)}
	}
	return Target{pubsubs: []pubsubTarget{{ps: ps, labels: labels}}}
}

// FromSource exports any change source through its adapter.
func FromSource(src Source) Target {
	if src == nil {
		return Target{err: fmt.Errorf("%w: Source", ErrNilTarget)}
	}
	return Target{sources: []Source{src}}
}

// checkLabels rejects labels that name no stream.
func checkLabels(l Labels) error {
	if l.Source == "" || (l.Channel == "" && l.Slot == "") {
		return fmt.Errorf("%w: %+v", ErrInvalidLabels, l)
	}
	return nil
}
