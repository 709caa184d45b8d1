package pubsub

import "errors"

// Errors returned by this package; match them with errors.Is.
var (
	// ErrNilMailbox is returned when a nil *Mailbox is passed.
	ErrNilMailbox = errors.New("pubsub: nil mailbox")
	// ErrMailboxClosed is returned by Subscribe for a closed mailbox.
	ErrMailboxClosed = errors.New("pubsub: mailbox closed")
	// ErrInvalidTopic is returned for an empty topic.
	ErrInvalidTopic = errors.New("pubsub: invalid topic")
	// ErrInvalidEvent is returned by Broadcast for an event whose Kind is
	// neither TableChanged nor Resync.
	ErrInvalidEvent = errors.New("pubsub: invalid event")
)

// ErrRouting is returned by Subscribe when EventBus does not route a new
// topic to exactly the handler the PubSub registered for it.
var ErrRouting = errors.New("pubsub: routing")
