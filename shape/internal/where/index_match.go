package where

import "github.com/phoenixkit/phoenixkitdb/pubsub"

// Match calls fn once with the id of every predicate that may be True for
// r: a superset of those for which [Pred.Holds] is true or fails (the
// index decides one conjunct of each; the caller evaluates each
// candidate, or uses [Index.MatchTrue], which does). fn must not modify
// the index.
func (ix *Index) Match(r *pubsub.Row, fn func(id uint64)) {
	rv := ix.reset(r)
	ix.match(rv, func(e *entry) {
		if e.mark != ix.stamp {
			e.mark = ix.stamp
			fn(e.id)
		}
	})
}

// MatchTrue calls fn(id, nil) for every predicate that is True for r, and
// fn(id, err) for every one that may be True but cannot be decided on r
// (err wraps [ErrNoValue]: a column it reads is absent or unchanged
// TOAST; fetch the row and evaluate again): [Pred.Holds] on every
// candidate of [Index.Match]. fn must not modify the index.
func (ix *Index) MatchTrue(r *pubsub.Row, fn func(id uint64, err error)) {
	rv := ix.reset(r)
	ix.match(rv, func(e *entry) {
		if e.mark == ix.stamp {
			return
		}
		e.mark = ix.stamp
		ok, err := e.pred.holdsIn(rv, e.colMap)
		if ok || err != nil {
			fn(e.id, err)
		}
		rv.err = nil
	})
}

// reset prepares the row cache for r.
func (ix *Index) reset(r *pubsub.Row) *rowVals {
	n := len(ix.slots)
	if cap(ix.cells) < n {
		ix.cells = make([]cell, n)
	}
	ix.cells = ix.cells[:n]
	for i := range ix.cells {
		ix.cells[i].loaded = false
	}
	ix.rv = rowVals{r: r, cells: ix.cells}
	ix.stamp++
	return &ix.rv
}

// match calls fn for every entry the row reaches, an entry filed under
// several conditions once for each that selects it.
func (ix *Index) match(rv *rowVals, fn func(*entry)) {
	for _, e := range ix.linear.es {
		fn(e)
	}
	for _, c := range ix.colList {
		cl := &rv.cells[c.slot]
		if !cl.loaded {
			rv.loadCell(cl, c.name, &c.t)
		}
		switch cl.state {
		case pubsub.Null:
			continue
		case pubsub.Present:
		default:
			// The value is not in the row: every predicate filed under
			// this column may hold.
			c.all(fn)
			continue
		}
		if cl.err != nil {
			c.all(fn)
			continue
		}
		v := &cl.v
		if c.t.array {
			if c.elem.len() == 0 {
				continue
			}
			elems := v.arr
			et := c.t.elem()
			var seen map[hkey]bool
			for i := range elems {
				k, ok := keyOf(&et, &elems[i])
				if !ok {
					continue
				}
				if len(elems) > 1 {
					if seen == nil {
						seen = make(map[hkey]bool, len(elems))
					}
					if seen[k] {
						continue
					}
					seen[k] = true
				}
				if b := c.elem.get(k); b != nil {
					for _, e := range b.es {
						fn(e)
					}
				}
			}
			continue
		}
		if c.eq.len() > 0 {
			if k, ok := keyOf(&c.t, v); ok {
				if b := c.eq.get(k); b != nil {
					for _, e := range b.es {
						fn(e)
					}
				}
			}
		}
		var vk ordKey
		if c.lower.n > 0 || c.iv.root != nil || c.upper.n > 0 {
			vk = keyFor(&c.t, v)
		}
		c.lower.root.below(&c.t, vk, v, fn)
		c.iv.root.stab(&c.t, vk, v, fn)
		c.upper.root.above(&c.t, vk, v, fn)
	}
}

// all calls fn for every entry filed under the column (an entry in
// several buckets once per bucket).
func (c *colIndex) all(fn func(*entry)) {
	each := func(b *bucket) {
		for _, e := range b.es {
			fn(e)
		}
	}
	c.eq.each(each)
	c.elem.each(each)
	c.lower.root.each(fn)
	c.upper.root.each(fn)
	c.iv.root.each(fn)
}
