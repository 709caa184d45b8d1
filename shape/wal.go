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
		for _, sh := range t.waiting {
			sh.pending = append(sh.pending, *ev)
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
		var shapes []*shape
		for _, sh := range r.targets(t, only) {
			if applies(sh) {
				shapes = append(shapes, sh)
			}
		}
		r.truncate(t, shapes, ev)
		return
	}
	c := r.prepare(t, ev)
	if only != nil {
		if applies(only) {
			r.derive(t, only, c)
		}
		return
	}
	// A row lacking columns (unchanged TOAST, no old row to fill them
	// from) goes through the index too: it names every shape filed under
	// a column the row lacks, and decides the others on the columns the
	// row has, as evaluating them on the row would.
	for _, sh := range r.candidates(t, c) {
		if applies(sh) {
			r.derive(t, sh, c)
		}
	}
}

// candidates returns the shapes a change may touch: those holding its
// old or new key and those whose predicate the index names for the new
// row (all those filed under a column the row lacks among them). The
// others can neither lose nor gain a row. It marks the index's shapes with a fresh c.stamp.
// The slice is reused by the next call.
func (r *router) candidates(t *table, c *change) []*shape {
	t.stamp++
	c.stamp = t.stamp
	cands := r.cands[:0]
	add := func(sh *shape) {
		if sh.seen != c.stamp {
			sh.seen = c.stamp
			cands = append(cands, sh)
		}
	}
	r.holderBuf = t.holders(c.oldKey, r.holderBuf[:0])
	if c.newKey != c.oldKey && c.newKey != "" {
		r.holderBuf = t.holders(c.newKey, r.holderBuf)
	}
	for _, sh := range r.holderBuf {
		add(sh)
	}
	clear(r.holderBuf)
	if c.row != nil {
		t.ix.Match(c.row, func(id uint64) {
			if sh := t.byID[id]; sh != nil {
				sh.mark = c.stamp
				add(sh)
			}
		})
		for _, sh := range t.nopred {
			add(sh)
		}
	}
	r.cands = cands
	return cands
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
	rows, err := t.fetchq.fetch(r.ctx, r.m.pool, [][]string{c.newTexts}, true)
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
	r.routed++
	ev := c.ev
	base := Message{LSN: ev.LSN, Seq: ev.Seq, xid: ev.Xid}
	inOld := t.hasKey(sh, c.oldKey)
	if ev.Operation == pubsub.Delete {
		if inOld {
			t.removeKey(sh, c.oldKey)
			m := base
			m.Kind, m.Key, m.Old = Delete, c.oldKey, sh.projs().old.project(ev.Old, sh.layout)
			r.emit(sh, m)
		}
		return
	}
	match := r.matches(t, sh, c)
	if inOld && c.oldKey != c.newKey {
		// The key changed: the old row leaves, the new one may enter.
		t.removeKey(sh, c.oldKey)
		m := base
		m.Kind, m.Key, m.Old = Delete, c.oldKey, sh.projs().old.project(ev.Old, sh.layout)
		r.emit(sh, m)
	}
	in := t.hasKey(sh, c.newKey)
	m := base
	m.Key = c.newKey
	switch {
	case in && match:
		m.Kind, m.Old = Update, sh.projs().old.project(ev.Old, sh.layout)
		if c.full != nil {
			m.Row = sh.projs().full.project(c.full, sh.layout)
		} else {
			m.Row = sh.projs().row.project(c.row, sh.layout)
		}
	case in && !match:
		t.removeKey(sh, c.newKey)
		m.Kind, m.Old = Delete, sh.projs().old.project(ev.Old, sh.layout)
	case !in && match:
		if !c.complete {
			r.fetch(t, c)
		}
		t.addKey(sh, c.newKey)
		m.Kind = Insert
		if c.full != nil {
			m.Row = sh.projs().full.project(c.full, sh.layout)
		} else {
			m.Row = sh.projs().row.project(c.row, sh.layout)
		}
	default:
		return
	}
	r.emit(sh, m)
}

// truncate empties shapes (of t): a Delete for every key of each.
func (r *router) truncate(t *table, shapes []*shape, ev *pubsub.Event) {
	t.stamp++
	stamp, any := t.stamp, false
	for _, sh := range shapes {
		sh.seen = stamp
		any = any || sh.nkeys > 0
	}
	if any {
		t.settle()
		for k := range t.keys.first {
			r.holderBuf = t.holders(k, r.holderBuf[:0])
			for _, sh := range r.holderBuf {
				if sh.seen == stamp {
					r.emit(sh, Message{Kind: Delete, Key: k, LSN: ev.LSN, Seq: ev.Seq, xid: ev.Xid})
				}
			}
		}
		clear(r.holderBuf)
	}
	for _, sh := range shapes {
		if sh.nkeys > 0 {
			t.retireKid(sh)
		}
	}
}
