package shape

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// flushNotify applies the NOTIFY changes collected from a batch, one
// fetch per table per FetchBatch keys.
func (r *router) flushNotify() {
	for _, t := range r.nbOrder {
		evs := r.nb[t]
		delete(r.nb, t)
		if t.dropped() {
			continue
		}
		if len(t.waiting) < len(t.shapes) {
			r.notifyApply(t, evs, nil)
		}
	}
	r.nbOrder = r.nbOrder[:0]
}

// dropped reports whether t has no shape left.
func (t *table) dropped() bool { return len(t.shapes) == 0 }

// notifyApply applies changes that carry ids only to shapes: the changed
// rows are fetched by key and each shape's key set says what they mean.
// A TRUNCATE empties the shapes at its place in the order. shapes nil
// means every live shape of t, found through t's indexes.
func (r *router) notifyApply(t *table, evs []pubsub.Event, shapes []*shape) {
	var keys []string
	seen := map[string]bool{}
	flush := func() {
		for len(keys) > 0 {
			n := min(len(keys), r.m.cfg.FetchBatch)
			r.notifyKeys(t, keys[:n], shapes)
			keys = keys[n:]
		}
		keys = nil
		clear(seen)
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Operation == pubsub.Truncate {
			flush()
			var live []*shape
			all := shapes
			if all == nil {
				all = t.shapes
			}
			for _, sh := range all {
				if sh.live {
					live = append(live, sh)
				}
			}
			r.truncate(t, live, ev)
			continue
		}
		if ev.RowID == "" || seen[ev.RowID] {
			continue
		}
		seen[ev.RowID] = true
		keys = append(keys, ev.RowID)
	}
	flush()
}

// notifyKeys fetches keys and applies what they now are to shapes.
func (r *router) notifyKeys(t *table, keys []string, shapes []*shape) {
	texts := make([][]string, len(keys))
	for i, k := range keys {
		texts[i] = []string{k}
	}
	rows, err := t.fetchq.fetch(r.ctx, r.m.pool, texts, false)
	if err != nil {
		if r.ctx.Err() == nil {
			r.resyncTable(t, err)
		}
		return
	}
	for _, k := range keys {
		row := rows[k]
		c := &change{ev: &pubsub.Event{Operation: pubsub.Update}, newKey: k, oldKey: k, row: row, complete: true, fetched: true, full: row}
		if row == nil {
			c.ev = &pubsub.Event{Operation: pubsub.Delete}
		}
		targets := shapes
		if targets == nil {
			targets = r.candidates(t, c)
		}
		for _, sh := range targets {
			if sh.live {
				r.derive(t, sh, c)
			}
		}
	}
}

// heldRows returns the rows of s (a subscriber's own snapshot of sh, NOTIFY
// mode) whose key sh holds. The shape's key set decides what its changes
// say, not the snapshot: a row the snapshot has and the shape does not
// hold (a change that made it match is still on its way, or the fetch
// that answered it already saw the row leave) would never be deleted from
// the subscriber, since a later change the shape does not hold it for
// makes no message. Dropping it is safe: if it still matches, the change
// on its way brings an Insert. A row the shape holds and the snapshot
// lacks comes back the other way: the change that took it out of the
// snapshot reaches the shape later, as Delete or Update.
func heldRows(sh *shape, s *snapshot) *snapshot {
	t := sh.tbl
	var idx []int
	for i := range s.rows.Len() {
		if t.hasKey(sh, s.rows.Key(i)) {
			idx = append(idx, i)
		}
	}
	return &snapshot{snap: s.snap, rows: s.rows.subset(idx)}
}
