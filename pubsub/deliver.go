package pubsub

import "fmt"

// batch is the scratch state of one delivery, owned by PubSub.mu.
type batch struct {
	gen     uint64
	events  []Event
	slots   [][]int32 // per routed topic: indexes into events, ascending
	routes  []route
	touched []*member
	groups  map[tableKey]int32 // table -> slot, for BroadcastChanges
	heads   []int              // merge cursors, reused
}

// route is the argument EventBus passes to a topic's handler.
type route struct {
	batch *batch
	slot  int32
}

// reset prepares the batch for a new delivery of evs.
func (b *batch) reset(evs []Event) {
	b.gen++
	b.events = evs
	b.slots = b.slots[:0]
	b.routes = b.routes[:0]
	b.touched = b.touched[:0]
}

// event returns event i, with a zero Kind read as TableChanged.
func (b *batch) event(i int32) Event {
	ev := b.events[i]
	if ev.Kind == 0 {
		ev.Kind = TableChanged
	}
	return ev
}

// addSlot appends a topic slot and returns its index list for filling.
func (b *batch) addSlot() int32 {
	if len(b.slots) < cap(b.slots) {
		b.slots = b.slots[:len(b.slots)+1]
		b.slots[len(b.slots)-1] = b.slots[len(b.slots)-1][:0]
	} else {
		b.slots = append(b.slots, nil)
	}
	return int32(len(b.slots) - 1)
}

// Broadcast delivers ev to every mailbox subscribed to topic. It never
// blocks on a mailbox. ev.Kind defaults to TableChanged when zero; a
// Resync event is delivered as a Resync (coalesced with one not yet read).
func (ps *PubSub) Broadcast(topicName string, ev Event) error {
	if topicName == "" {
		return ErrInvalidTopic
	}
	if ev.Kind == 0 {
		ev.Kind = TableChanged
	}
	if ev.Kind != TableChanged && ev.Kind != Resync {
		return fmt.Errorf("%w: kind %v", ErrInvalidEvent, ev.Kind)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	b := &ps.scratch
	one := [1]Event{ev}
	b.reset(one[:])
	if t := ps.topics[topicName]; t != nil {
		s := b.addSlot()
		b.slots[s] = append(b.slots[s], 0)
		ps.publish(t.name, s)
	}
	ps.published.Add(1)
	if ev.Kind == Resync {
		// Every member the topic reached is offered the Resync once.
		ps.resyncs.add(ev.Reason, uint64(len(b.touched)))
	}
	ps.flush()
	b.events = nil
	return nil
}

// BroadcastChanges delivers each change to its table's topic
// (TopicTable(ev.Schema, ev.Table)) and to TopicAll, as one delivery: every
// mailbox receives its copies in the order of evs, and a mailbox that
// holds both topics receives two copies of each change. Every event must
// be a TableChanged (a zero Kind counts as one) with a schema and a table; otherwise
// nothing is delivered and the error wraps ErrInvalidEvent.
//
// This is the Listener's path: one EventBus publication per topic per
// call instead of per event. evs is not retained.
func (ps *PubSub) BroadcastChanges(evs []Event) error {
	for i := range evs {
		ev := &evs[i]
		if (ev.Kind != TableChanged && ev.Kind != 0) || ev.Schema == "" || ev.Table == "" {
			return fmt.Errorf("%w: %v at index %d", ErrInvalidEvent, *ev, i)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	b := &ps.scratch
	b.reset(evs)
	if b.groups == nil {
		b.groups = make(map[tableKey]int32)
	}
	clear(b.groups)

	// Group events by table, keeping each group's indexes ascending.
	// Bursts usually come from one table: consecutive events of the same
	// table skip the map.
	var prev tableKey
	prevSlot := int32(-1)
	for i := range evs {
		k := tableKey{evs[i].Schema, evs[i].Table}
		s := prevSlot
		if s < 0 || k != prev {
			var ok bool
			if s, ok = b.groups[k]; !ok {
				s = b.addSlot()
				b.groups[k] = s
			}
			prev, prevSlot = k, s
		}
		b.slots[s] = append(b.slots[s], int32(i))
	}
	for k, s := range b.groups {
		if t := ps.byTable[k]; t != nil {
			ps.publish(t.name, s)
		}
	}
	if t := ps.topics[TopicAll()]; t != nil {
		s := b.addSlot()
		for i := range evs {
			b.slots[s] = append(b.slots[s], int32(i))
		}
		ps.publish(t.name, s)
	}
	ps.published.Add(uint64(len(evs)))
	ps.flush()
	b.events = nil
	return nil
}

// publish hands slot s of the current batch to the topic's EventBus
// handler. The caller holds ps.mu.
func (ps *PubSub) publish(topicName string, s int32) {
	b := &ps.scratch
	b.routes = append(b.routes, route{batch: b, slot: s})
	// The handler's parameter type is *route: always publish exactly that.
	ps.bus.Publish(topicName, &b.routes[len(b.routes)-1])
}

// flush sends the current batch to every member the handlers collected,
// each in event order. The caller holds ps.mu.
func (ps *PubSub) flush() {
	b := &ps.scratch
	var delivered, dropped, overflows uint64
	for _, m := range b.touched {
		mb := m.mb
		before := mb.dropped.Load()
		mb.mu.Lock()
		if len(m.slots) == 1 {
			for _, i := range b.slots[m.slots[0]] {
				if mb.offer(b.event(i)) {
					delivered++
				}
			}
		} else {
			delivered += ps.mergeInto(mb, m.slots)
		}
		overflows += mb.overflows
		mb.overflows = 0
		mb.mu.Unlock()
		dropped += mb.dropped.Load() - before
	}
	ps.delivered.Add(delivered)
	ps.dropped.Add(dropped)
	if overflows > 0 {
		ps.resyncs.overflow.Add(overflows)
	}
	clear(b.touched)
	b.touched = b.touched[:0]
}

// mergeInto offers the events of several topic slots to mb in event order;
// an event routed through two topics is offered twice. The caller holds
// ps.mu and mb.mu.
func (ps *PubSub) mergeInto(mb *Mailbox, slots []int32) (delivered uint64) {
	b := &ps.scratch
	heads := b.heads[:0]
	for range slots {
		heads = append(heads, 0)
	}
	b.heads = heads
	for {
		best, bestIdx := -1, int32(0)
		for j, s := range slots {
			list := b.slots[s]
			if heads[j] < len(list) && (best < 0 || list[heads[j]] < bestIdx) {
				best, bestIdx = j, list[heads[j]]
			}
		}
		if best < 0 {
			return delivered
		}
		heads[best]++
		if mb.offer(b.event(bestIdx)) {
			delivered++
		}
	}
}

// Resync sends one Resync event (Reason ReasonManual) to every mailbox
// subscribed to at least one topic, once per mailbox however many topics
// it holds, in order with the events published before and after it.
func (ps *PubSub) Resync() { ps.ResyncWith(ReasonManual) }

// ResyncWith is Resync with a reason carried in Event.Reason.
func (ps *PubSub) ResyncWith(reason string) {
	ev := Event{Kind: Resync, Reason: reason}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var sent uint64
	for mb := range ps.members {
		mb.mu.Lock()
		if mb.offer(ev) {
			sent++
		}
		mb.mu.Unlock()
	}
	ps.resyncs.add(reason, sent)
}
