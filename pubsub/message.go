package pubsub

import "fmt"

// messageTopicPrefix starts every message topic. It is not topicPrefix
// followed by something, so a message topic is never taken for a table
// topic (see tableOf), whatever the prefix holds.
const messageTopicPrefix = "phoenix_kit_db_message:"

// TopicMessage returns the topic of the logical decoding messages with
// prefix prefix (Events of Kind [Message]),
// "phoenix_kit_db_message:" + prefix. Messages go to that topic only:
// [TopicAll] and the table topics never carry them.
func TopicMessage(prefix string) string { return messageTopicPrefix + prefix }

// BroadcastMessage delivers ev, an Event of Kind [Message], to every
// mailbox subscribed to TopicMessage(ev.Prefix), in order with the
// changes published before and after it. It never blocks on a mailbox.
// Any other kind is refused with an error wrapping ErrInvalidEvent.
// [PubSub.BroadcastChanges] and [PubSub.BroadcastChangesAcked] take
// messages among the changes too, which is how the WAL source hands them
// over.
func (ps *PubSub) BroadcastMessage(ev Event) error {
	if ev.Kind != Message {
		return fmt.Errorf("%w: kind %v is not a Message", ErrInvalidEvent, ev.Kind)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.broadcastChanges([]Event{ev})
	return nil
}
