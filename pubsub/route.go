package pubsub

import (
	"fmt"
	"strings"
)

// The routing table. EventBus is the topic router of record: every topic
// with a subscriber has exactly one handler registered with the bus, and
// the handler a topic routes to is whatever EventBus answers when asked.
// The PubSub asks it once per change of the topic set (a topic's first
// subscriber arrives or its last one leaves) by publishing a routeQuery on
// the topic, and keeps the answer in topics, byTable and all.
//
// Publications read that table instead of calling EventBus.Publish per
// publication: Publish copies its handler slice and calls the handler
// through reflect, two heap allocations and a few hundred nanoseconds per
// call, which is the whole budget of a single-change publication. The
// table holds exactly what EventBus would route to, because it is filled
// from EventBus's answer and refreshed, under the same lock, whenever a
// handler is added or removed.

// routeQuery is published through EventBus to learn a topic's handler.
type routeQuery struct {
	found   *topic
	answers int
}

// answer is a topic's EventBus handler: it names the topic that handles
// the publication. It never blocks and never calls back into the bus.
func (t *topic) answer(q *routeQuery) {
	q.found = t
	q.answers++
}

// tableTopicName is the EventBus name of table k's topic: TopicTable's,
// PhoenixKit's name, when that reads back as k (the schema has no '.');
// otherwise one with a NUL between schema and table, which no topic string
// can have (Subscribe refuses NUL) and no PostgreSQL name holds, so that
// "a.b"."c" and "a"."b.c" never share a topic.
func tableTopicName(k tableKey) string {
	if !strings.Contains(k.schema, ".") {
		return TopicTable(k.schema, k.table)
	}
	return topicPrefix + k.schema + "\x00" + k.table
}

// addTopic registers a new topic's handler with EventBus and routes the
// topic to whatever EventBus then answers; a table topic (isTable) is
// routed by key, the pair it was subscribed with, never by re-reading its
// name. The caller holds ps.mu.
func (ps *PubSub) addTopic(name string, key tableKey, isTable bool) (*topic, error) {
	t := &topic{name: name, key: key, isTable: isTable, index: make(map[*member]int)}
	// One handler per topic, registered once: EventBus's Unsubscribe
	// matches handlers by code pointer, so it can only ever remove the
	// right one when a topic has exactly one.
	if err := ps.bus.Subscribe(name, t.answer); err != nil {
		return nil, err
	}
	var q routeQuery
	// The handler's parameter type is *routeQuery: publish exactly that.
	ps.bus.Publish(name, &q)
	if q.answers != 1 || q.found != t {
		_ = ps.bus.Unsubscribe(name, t.answer)
		return nil, fmt.Errorf("%w: EventBus routes %q to %d handlers", ErrRouting, name, q.answers)
	}
	ps.topics[name] = q.found
	if isTable {
		ps.byTable[key] = q.found
		ps.last.valid = false
	}
	if name == TopicAll() {
		ps.all = q.found
	}
	return q.found, nil
}

// tableTopic returns the topic of table k, or nil. The caller holds ps.mu.
func (ps *PubSub) tableTopic(k tableKey) *topic {
	if ps.last.valid && ps.last.key == k {
		return ps.last.t
	}
	t := ps.byTable[k]
	ps.last.key, ps.last.t, ps.last.valid = k, t, true
	return t
}

// removeTopic unregisters the handler of a topic without subscribers and
// drops the topic from the routing table. The caller holds ps.mu.
func (ps *PubSub) removeTopic(t *topic) {
	// The only handler of this topic is t.answer: see addTopic.
	_ = ps.bus.Unsubscribe(t.name, t.answer)
	delete(ps.topics, t.name)
	if t.isTable {
		delete(ps.byTable, t.key)
	}
	if ps.all == t {
		ps.all = nil
	}
	ps.last.valid = false
}
