package pubsub

import "fmt"

// batch is the scratch state of one multi-event delivery, owned by
// PubSub.mu and reused, so that a batch allocates nothing once the
// PubSub has seen one of its size.
type batch struct {
	gen     uint64
	events  []Event
	slots   [][]int32 // per routed topic: indexes into events, ascending
	touched []*member
	groups  map[tableKey]int32 // table -> slot, for BroadcastChanges
	heads   []int              // merge cursors, reused
}

// reset prepares the batch for a new delivery of evs.
func (b *batch) reset(evs []Event) {
	b.gen++
	b.events = evs
	b.slots = b.slots[:0]
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

// tally counts the outcome of offers during one delivery.
type tally struct{ delivered, dropped, overflows uint64 }

// offer offers ev to mb and counts the outcome. The caller holds mb.mu.
func (c *tally) offer(mb *Mailbox, ev *Event) {
	switch {
	case mb.offerFast(ev), mb.offer(ev):
		c.delivered++
	case !mb.closed:
		c.dropped++
		// offer counts the overflow Resync it queued, if any.
		c.overflows += mb.overflows
		mb.overflows = 0
	}
}

// add adds the tally to the PubSub's counters. The caller holds ps.mu.
func (ps *PubSub) add(c tally) {
	ps.delivered += c.delivered
	ps.dropped += c.dropped
	ps.resyncs.overflow += c.overflows
}

// deliverOne offers ev to every member of t: the path of a publication of
// one event, which needs no merging. The caller holds ps.mu.
func (ps *PubSub) deliverOne(t *topic, ev *Event, c *tally) {
	for _, mb := range t.mbs {
		if mb.offerSolo(ps, ev) {
			c.delivered++
			continue
		}
		mb.mu.Lock()
		if mb.offerFast(ev) {
			mb.mu.Unlock()
			c.delivered++
			continue
		}
		c.offer(mb, ev)
		mb.unlock()
	}
}

// deliverAll offers every event of evs, in order, to every member of t,
// each member under one lock. The caller holds ps.mu.
func deliverAll(t *topic, evs []Event, c *tally) {
	for _, mb := range t.mbs {
		mb.mu.Lock()
		for i := 0; i < len(evs); i++ {
			ev := evs[i]
			ev.Kind = TableChanged // validated: TableChanged or zero
			if mb.offerFast(&ev) {
				c.delivered++
				continue
			}
			// Behind a running pump the rest would be queued one by
			// one: queue as many as fit at once.
			if n := mb.offerQueued(evs[i:]); n > 0 {
				c.delivered += uint64(n)
				i += n - 1
				continue
			}
			c.offer(mb, &ev)
		}
		mb.unlock()
	}
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
	var c tally
	if t := ps.topics[topicName]; t != nil {
		ps.deliverOne(t, &ev, &c)
	}
	ps.published++
	if ev.Kind == Resync {
		// Every member the topic reached is offered the Resync once.
		if t := ps.topics[topicName]; t != nil {
			ps.resyncs.add(ev.Reason, uint64(len(t.mbs)))
		}
	}
	ps.add(c)
	ps.mu.Unlock()
	return nil
}

// BroadcastChanges delivers each change to the topic of its table, the
// pair (ev.Schema, ev.Table) as SubscribeTable takes it (TopicTable(
// ev.Schema, ev.Table) for a schema without a dot), and to TopicAll, as
// one delivery: every mailbox receives its copies in the order of evs, and
// a mailbox that
// holds both topics receives two copies of each change. Every event must
// be a TableChanged (a zero Kind counts as one) with a schema and a table,
// a Message, or a Committed mark (with a table: to its topic; without:
// to TopicAll; either only to mailboxes made WithCommits); otherwise
// nothing is delivered and the error wraps ErrInvalidEvent.
//
// This is the Listener's path, routed by the table EventBus fills (see
// the package documentation): a single change costs one non-blocking
// offer per subscribed mailbox and allocates nothing; a batch is grouped
// by table once and each mailbox receives its share under one lock. evs
// is not retained.
func (ps *PubSub) BroadcastChanges(evs []Event) error {
	if err := checkChanges(evs); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.broadcastChanges(evs)
	return nil
}

// checkChanges validates the events of a BroadcastChanges.
func checkChanges(evs []Event) error {
	for i := range evs {
		ev := &evs[i]
		switch {
		case ev.Kind == Message:
			continue
		case ev.Kind == Committed && (ev.Schema == "") == (ev.Table == ""):
			continue
		}
		if (ev.Kind != TableChanged && ev.Kind != 0) || ev.Schema == "" || ev.Table == "" {
			return fmt.Errorf("%w: %v at index %d", ErrInvalidEvent, *ev, i)
		}
	}
	return nil
}

// single reports whether an event of kind k is delivered on its own:
// a logical message or a Committed mark, not a change.
func single(k Kind) bool { return k == Message || k == Committed }

// broadcastChanges is BroadcastChanges after validation, for at least one
// event: the runs of changes grouped by table, the messages and marks
// between them one by one, in order. The caller holds ps.mu.
func (ps *PubSub) broadcastChanges(evs []Event) {
	for len(evs) > 0 {
		i := 0
		for i < len(evs) && !single(evs[i].Kind) {
			i++
		}
		if i == 0 {
			ps.broadcastSingle(&evs[0])
			evs = evs[1:]
			continue
		}
		ps.broadcastRun(evs[:i])
		evs = evs[i:]
	}
}

// broadcastSingle delivers a logical message to its topics, or a
// Committed mark to the members of its topic made WithCommits. Marks are
// not counted as published: Stats counts what sources publish. The
// caller holds ps.mu.
func (ps *PubSub) broadcastSingle(e *Event) {
	ev := *e
	var c tally
	if ev.Kind == Message {
		ps.messageTopics(&ev, func(t *topic) { ps.deliverOne(t, &ev, &c) })
		ps.published++
	} else {
		t := ps.all
		if ev.Table != "" {
			t = ps.tableTopic(tableKey{ev.Schema, ev.Table})
		}
		if t != nil {
			deliverMark(t, &ev, &c)
		}
	}
	ps.add(c)
}

// deliverMark offers mark ev to the members of t made WithCommits. The
// caller holds ps.mu.
func deliverMark(t *topic, ev *Event, c *tally) {
	for _, mb := range t.mbs {
		if !mb.commits {
			continue
		}
		mb.mu.Lock()
		c.offer(mb, ev)
		mb.unlock()
	}
}

// broadcastRun delivers a run of changes (no message, no mark). The
// caller holds ps.mu.
func (ps *PubSub) broadcastRun(evs []Event) {
	if len(evs) == 1 {
		ev := evs[0]
		ev.Kind = TableChanged
		var c tally
		if t := ps.tableTopic(tableKey{ev.Schema, ev.Table}); t != nil {
			ps.deliverOne(t, &ev, &c)
		}
		if ps.all != nil {
			ps.deliverOne(ps.all, &ev, &c)
		}
		ps.published++
		ps.add(c)
		return
	}
	if len(ps.byTable) == 0 {
		// Only TopicAll can have subscribers: every member takes the
		// whole batch, in order, under one lock, with no grouping.
		var c tally
		if ps.all != nil {
			deliverAll(ps.all, evs, &c)
		}
		ps.published += uint64(len(evs))
		ps.add(c)
		return
	}
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
			t.collect(b, s)
		}
	}
	if t := ps.all; t != nil {
		s := b.addSlot()
		for i := range evs {
			b.slots[s] = append(b.slots[s], int32(i))
		}
		t.collect(b, s)
	}
	ps.published += uint64(len(evs))
	ps.flush()
	b.events = nil
}

// flush sends the current batch to every member the handlers collected,
// each in event order. The caller holds ps.mu.
func (ps *PubSub) flush() {
	b := &ps.scratch
	var c tally
	for _, m := range b.touched {
		mb := m.mb
		mb.mu.Lock()
		if len(m.slots) == 1 {
			for _, i := range b.slots[m.slots[0]] {
				ev := b.event(i)
				c.offer(mb, &ev)
			}
		} else {
			ps.mergeInto(mb, m.slots, &c)
		}
		mb.unlock()
	}
	ps.add(c)
	clear(b.touched)
	b.touched = b.touched[:0]
}

// mergeInto offers the events of several topic slots to mb in event order;
// an event routed through two topics is offered twice. The caller holds
// ps.mu and mb.mu.
func (ps *PubSub) mergeInto(mb *Mailbox, slots []int32, c *tally) {
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
			return
		}
		heads[best]++
		ev := b.event(bestIdx)
		c.offer(mb, &ev)
	}
}

// Resync sends one Resync event (Reason ReasonManual) to every mailbox
// subscribed to at least one topic, once per mailbox however many topics
// it holds, in order with the events published before and after it.
func (ps *PubSub) Resync() { ps.ResyncWith(ReasonManual) }

// ResyncWith is Resync with a reason carried in Event.Reason.
func (ps *PubSub) ResyncWith(reason Reason) {
	ev := Event{Kind: Resync, Reason: reason}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var sent uint64
	for mb := range ps.members {
		mb.mu.Lock()
		if mb.offer(&ev) {
			sent++
		}
		mb.unlock()
	}
	ps.resyncs.add(reason, sent)
}
