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

// TopicMessages returns the topic that carries every logical decoding
// message whatever its prefix, "phoenix_kit_db_messages" (a relay that
// forwards a whole stream subscribes to it and to [TopicAll]). A message
// reaches a mailbox subscribed to both its prefix topic and this one
// twice, as a change does through its table topic and TopicAll.
func TopicMessages() string { return "phoenix_kit_db_messages" }

// messageTopics calls f with the topics of message ev that have
// subscribers: its prefix topic and TopicMessages. The caller holds
// ps.mu.
func (ps *PubSub) messageTopics(ev *Event, f func(*topic)) {
	if t := ps.topics[TopicMessage(ev.Prefix)]; t != nil {
		f(t)
	}
	if t := ps.topics[TopicMessages()]; t != nil {
		f(t)
	}
}

// BroadcastMessage delivers ev, an Event of Kind [Message], to every
// mailbox subscribed to TopicMessage(ev.Prefix) or TopicMessages, in order with the
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
