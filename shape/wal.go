package shape

import (
	"errors"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// change is one row change being routed, with what is worked out about
// it once for all shapes.
type change struct {
	ev             *pubsub.Event
	newKey, oldKey string
	newTexts       []string // the key columns' texts of the new row
	row            *pubsub.Row
	complete       bool
	fetched        bool
	full           *pubsub.Row // the row fetched by key (nil: gone)
	// stamp, when not 0, marks (shape.mark) the shapes the index names
	// for row: the others cannot match it.
	stamp uint64
}

// walEvent routes a change that carries its row and transaction id (the
// WAL source, a cluster follower) to the live shapes of t, or to only.
// Shapes whose snapshot is being taken keep it for later.
func (r *router) walEvent(t *table, ev *pubsub.Event, only *shape) {
	if only == nil {
		for _, sh := range t.shapes {
			if !sh.live {
				sh.pending = append(sh.pending, *ev)
			}
		}
	}
	// applies reports whether sh applies ev (live, and ev is not in its
	// snapshot).
	applies := func(sh *shape) bool {
		if !sh.live || sh.dropped {
			return false
		}
		if sh.snap != nil {
			if sh.snap.passed(ev.LSN) {
				sh.snap = nil
			} else if sh.snap.sees(ev.LSN, ev.Xid) {
				return false
			}
		}
		return true
	}
	if ev.Operation == pubsub.Truncate {
		for _, sh := range r.targets(t, only) {
			if applies(sh) {
				r.truncate(sh, ev)
			}
		}
		return
	}
	c := r.prepare(t, ev)
	if c.row != nil && c.complete && only == nil {
		// The index names the shapes the new row may match; the others
		// need no evaluation.
		t.stamp++
		c.stamp = t.stamp
		t.ix.Match(c.row, func(id uint64) {
			if sh := t.byID[id]; sh != nil {
				sh.mark = c.stamp
			}
		})
		if ev.Operation == pubsub.Insert {
			// A new key is in no key set: only candidates are touched.
			t.ix.Match(c.row, func(id uint64) {
				if sh := t.byID[id]; sh != nil && applies(sh) {
					r.derive(t, sh, c)
				}
			})
			for _, sh := range t.nopred {
				if applies(sh) {
					r.derive(t, sh, c)
				}
			}
			return
		}
	}
	for _, sh := range r.targets(t, only) {
		if applies(sh) {
			r.derive(t, sh, c)
		}
	}
}

// targets returns only as a slice, or t's shapes.
func (r *router) targets(t *table, only *shape) []*shape {
	if only != nil {
		return []*shape{only}
	}
	return t.shapes
}

// prepare works out a change's keys and row.
func (r *router) prepare(t *table, ev *pubsub.Event) *change {
	c := &change{ev: ev}
	key := t.info.key
	if ev.New != nil {
		c.row = ev.New
		if !complete(c.row) {
			c.row = fillFrom(c.row, ev.Old)
		}
		c.complete = complete(c.row)
		var ok bool
		if c.newKey, c.newTexts, ok = rowKey(c.row, key); !ok {
			c.newKey = ev.RowID
		}
	}
	if k, _, ok := rowKey(ev.Old, key); ok {
		c.oldKey = k
	} else if ev.New != nil {
		c.oldKey = c.newKey
	} else {
		c.oldKey = ev.RowID
	}
	return c
}

// fetch reads c's row by key, once.
func (r *router) fetch(t *table, c *change) {
	if c.fetched {
		return
	}
	c.fetched = true
	if c.newTexts == nil {
		return
	}
	rows, err := t.fetchq.fetch(r.ctx, r.m.pool, [][]string{c.newTexts})
	if err != nil {
		if r.ctx.Err() == nil {
			r.resyncTable(t, err)
		}
		return
	}
	c.full = rows[c.newKey]
}

// matches reports whether c's new row matches sh, fetching the row when
// the change did not carry a column the predicate reads.
func (r *router) matches(t *table, sh *shape, c *change) bool {
	if c.row == nil {
		return false
	}
	if sh.b.pred == nil {
		return true
	}
	if c.stamp != 0 && sh.mark != c.stamp {
		return false
	}
	row := c.row
	if c.full != nil {
		row = c.full
	}
	tri, err := sh.b.pred.Eval(row)
	if err != nil && errors.Is(err, where.ErrNoValue) && !c.fetched {
		r.fetch(t, c)
		if c.full == nil {
			return false
		}
		tri, err = sh.b.pred.Eval(c.full)
	}
	if err != nil {
		r.m.log.Warn("shape: evaluating a predicate failed", "where", sh.b.norm, "err", err)
		return false
	}
	return tri == where.True
}

// derive applies c to sh: insert, update, delete, move-in or move-out,
// as sh's key set and predicate say.
func (r *router) derive(t *table, sh *shape, c *change) {
	if !sh.live {
		return
	}
	ev := c.ev
	base := Message{LSN: ev.LSN, Seq: ev.Seq, xid: ev.Xid}
	_, inOld := sh.keys[c.oldKey]
	if ev.Operation == pubsub.Delete {
		if inOld {
			delete(sh.keys, c.oldKey)
			m := base
			m.Kind, m.Key, m.Old = Delete, c.oldKey, sh.oldProj.project(ev.Old, sh.layout)
			r.emit(sh, m)
		}
		return
	}
	match := r.matches(t, sh, c)
	if inOld && c.oldKey != c.newKey {
		// The key changed: the old row leaves, the new one may enter.
		delete(sh.keys, c.oldKey)
		m := base
		m.Kind, m.Key, m.Old = Delete, c.oldKey, sh.oldProj.project(ev.Old, sh.layout)
		r.emit(sh, m)
	}
	_, in := sh.keys[c.newKey]
	m := base
	m.Key = c.newKey
	switch {
	case in && match:
		m.Kind, m.Old = Update, sh.oldProj.project(ev.Old, sh.layout)
		if c.full != nil {
			m.Row = sh.fullProj.project(c.full, sh.layout)
		} else {
			m.Row = sh.proj.project(c.row, sh.layout)
		}
	case in && !match:
		delete(sh.keys, c.newKey)
		m.Kind, m.Old = Delete, sh.oldProj.project(ev.Old, sh.layout)
	case !in && match:
		if !c.complete {
			r.fetch(t, c)
		}
		sh.keys[c.newKey] = struct{}{}
		m.Kind = Insert
		if c.full != nil {
			m.Row = sh.fullProj.project(c.full, sh.layout)
		} else {
			m.Row = sh.proj.project(c.row, sh.layout)
		}
	default:
		return
	}
	r.emit(sh, m)
}

// truncate empties sh: a Delete for every key.
func (r *router) truncate(sh *shape, ev *pubsub.Event) {
	for k := range sh.keys {
		r.emit(sh, Message{Kind: Delete, Key: k, LSN: ev.LSN, Seq: ev.Seq, xid: ev.Xid})
	}
	clear(sh.keys)
}
