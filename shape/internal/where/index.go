package where

import (
	"sort"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Index routes rows of one table to the predicates (shapes) they may
// satisfy. Each predicate is filed under one conjunct of its top-level
// AND, chosen in this order:
//
//   - col = v, col IN (...), col = ANY('{...}'), a boolean column, b IS
//     TRUE: in a hash table of the column, under each value;
//   - v = ANY(array_col), array_col @> '{...}': in a hash table of the
//     array's elements, under one element of the constant;
//   - col > v, col >= v, col BETWEEN v AND w: in a list sorted by the
//     lower bound; col < v, col <= v: in a list sorted by the upper bound;
//   - anything else (OR at the top, NOT, IS NULL, LIKE, <>): in a list
//     checked for every row.
//
// A row costs one lookup per indexed column plus the candidates it
// yields: a predicate filed under a hash value or an element is a
// candidate only for rows with that value; one filed under a bound only
// for rows beyond the bound (a BETWEEN is filed under its lower bound
// alone, so rows above its upper bound still reach it). Only predicates in
// the unindexed list cost something for every row.
//
// An Index is not safe for concurrent use: the caller serialises Add,
// Remove and Match (Match itself does not modify the index, so
// concurrent Match calls under a read lock are fine).
type Index struct {
	entries map[uint64]*entry
	cols    map[string]*colIndex
	linear  bucket
}

// entry is one predicate and where it is filed.
type entry struct {
	id    uint64
	pred  *Pred
	slots []slot
	col   *colIndex  // the column it is filed under; nil for the unindexed list
	rng   *rangeList // the sorted list it is in, if any
	bound value
	t     *colType
}

// slot is an entry's place in a bucket, and where the bucket is.
type slot struct {
	b *bucket
	i int
	m map[hkey]*bucket // nil for the unindexed list
	k hkey
}

// bucket is a set of entries with O(1) removal.
type bucket struct{ es []*entry }

func (b *bucket) add(e *entry, m map[hkey]*bucket, k hkey) {
	e.slots = append(e.slots, slot{b: b, i: len(b.es), m: m, k: k})
	b.es = append(b.es, e)
}

// remove drops the entry at i, moving the last one there.
func (b *bucket) remove(i int) {
	last := len(b.es) - 1
	moved := b.es[last]
	b.es[i] = moved
	b.es[last] = nil
	b.es = b.es[:last]
	if i == last {
		return
	}
	for k := range moved.slots {
		if moved.slots[k].b == b && moved.slots[k].i == last {
			moved.slots[k].i = i
			break
		}
	}
}

// colIndex is the index of one column.
type colIndex struct {
	name  string
	t     colType
	eq    map[hkey]*bucket // hash of values (scalar columns)
	elem  map[hkey]*bucket // hash of elements (array columns)
	lower rangeList        // col > v, col >= v, BETWEEN: sorted by v
	upper rangeList        // col < v, col <= v: sorted by v
}

// rangeList is a list of entries sorted by their bound.
type rangeList struct {
	es    []rangeEnt
	upper bool
}

type rangeEnt struct {
	v      value
	strict bool // > or <, not >= or <=
	e      *entry
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{entries: map[uint64]*entry{}, cols: map[string]*colIndex{}}
}

// Len returns the number of predicates in the index.
func (ix *Index) Len() int { return len(ix.entries) }

// Add files p under id, replacing a predicate already filed under id.
func (ix *Index) Add(id uint64, p *Pred) {
	if _, ok := ix.entries[id]; ok {
		ix.Remove(id)
	}
	e := &entry{id: id, pred: p}
	ix.entries[id] = e
	ix.file(e)
}

// Remove drops the predicate filed under id, if any.
func (ix *Index) Remove(id uint64) {
	e, ok := ix.entries[id]
	if !ok {
		return
	}
	delete(ix.entries, id)
	// Remove in reverse so an entry's later slots stay valid.
	for k := len(e.slots) - 1; k >= 0; k-- {
		s := e.slots[k]
		s.b.remove(s.i)
		if len(s.b.es) == 0 && s.m != nil {
			delete(s.m, s.k)
		}
	}
	e.slots = nil
	if e.rng != nil {
		e.rng.remove(e)
	}
	if c := e.col; c != nil && len(c.eq) == 0 && len(c.elem) == 0 && len(c.lower.es) == 0 && len(c.upper.es) == 0 {
		delete(ix.cols, c.name)
	}
}

// column returns the index of column i of p, or nil when the index
// already holds that column with another type.
func (ix *Index) column(p *Pred, i int) *colIndex {
	bc := &p.cols[i]
	c, ok := ix.cols[bc.Name]
	if !ok {
		c = &colIndex{name: bc.Name, t: bc.t, eq: map[hkey]*bucket{}, elem: map[hkey]*bucket{}, upper: rangeList{upper: true}}
		ix.cols[bc.Name] = c
		return c
	}
	if c.t.kind != bc.t.kind || c.t.oid != bc.t.oid || c.t.array != bc.t.array || len(c.t.labels) != len(bc.t.labels) {
		return nil
	}
	return c
}

// file files e under its best conjunct.
func (ix *Index) file(e *entry) {
	p := e.pred
	conj := []*node{p.root}
	if p.root.op == nAnd {
		conj = p.root.kids
	}
	// Rank the conjuncts: hash (fewest keys first), element, range.
	best, bestRank := (*node)(nil), 1<<30
	for _, n := range conj {
		r := rank(p, n)
		if r < bestRank {
			best, bestRank = n, r
		}
	}
	if best == nil {
		ix.linear.add(e, nil, hkey{})
		return
	}
	c := ix.column(p, best.col)
	if c == nil {
		ix.linear.add(e, nil, hkey{})
		return
	}
	e.col = c
	t := &p.cols[best.col].t
	add := func(m map[hkey]*bucket, k hkey) {
		b, ok := m[k]
		if !ok {
			b = &bucket{}
			m[k] = b
		}
		b.add(e, m, k)
	}
	switch best.op {
	case nBoolCol:
		add(c.eq, hkey{n: 1})
	case nIsTri:
		add(c.eq, hkey{n: 1})
	case nCmp:
		switch best.cmp {
		case opEq:
			k, _ := keyOf(t, &best.vals[0])
			add(c.eq, k)
		case opGt, opGe:
			c.lower.insert(e, best.vals[0], best.cmp == opGt, t)
		case opLt, opLe:
			c.upper.insert(e, best.vals[0], best.cmp == opLt, t)
		}
	case nBetween:
		c.lower.insert(e, best.vals[0], false, t)
	case nIn:
		seen := map[hkey]bool{}
		for i := range best.vals {
			if k, ok := keyOf(t, &best.vals[i]); ok && !seen[k] {
				seen[k] = true
				add(c.eq, k)
			}
		}
	case nAnyArr:
		et := t.elem()
		k, _ := keyOf(&et, &best.vals[0])
		add(c.elem, k)
	case nContains:
		et := t.elem()
		k, _ := keyOf(&et, &best.vals[0])
		add(c.elem, k)
	}
}

// rank scores how well conjunct n narrows the rows (lower is better);
// 1<<30 means not indexable.
func rank(p *Pred, n *node) int {
	const no = 1 << 30
	switch n.op {
	case nBoolCol:
		return 2
	case nIsTri:
		if k := n.kids[0]; k.op == nBoolCol && n.tri == True && !n.not {
			return 2
		}
	case nCmp:
		v := &n.vals[0]
		if v.null {
			return no
		}
		switch n.cmp {
		case opEq:
			if _, ok := keyOf(&p.cols[n.col].t, v); ok {
				return 1
			}
		case opGt, opGe, opLt, opLe:
			return 1000
		}
	case nBetween:
		if !n.not && !n.vals[0].null && !n.vals[1].null {
			return 1000
		}
	case nIn:
		if n.not {
			return no
		}
		t := &p.cols[n.col].t
		k := 0
		for i := range n.vals {
			if _, ok := keyOf(t, &n.vals[i]); ok {
				k++
			}
		}
		if k == 0 {
			return no
		}
		return k
	case nAnyArr:
		if !n.vals[0].null {
			return 100
		}
	case nContains:
		if !n.constNull && len(n.vals) > 0 && !n.vals[0].null {
			return 100
		}
	}
	return no
}

func (l *rangeList) insert(e *entry, v value, strict bool, t *colType) {
	i := sort.Search(len(l.es), func(i int) bool { return cmpVal(t, &l.es[i].v, &v) >= 0 })
	l.es = append(l.es, rangeEnt{})
	copy(l.es[i+1:], l.es[i:])
	l.es[i] = rangeEnt{v: v, strict: strict, e: e}
	e.rng = l
	e.bound = v
	e.t = t
}

func (l *rangeList) remove(e *entry) {
	i := sort.Search(len(l.es), func(i int) bool { return cmpVal(e.t, &l.es[i].v, &e.bound) >= 0 })
	for ; i < len(l.es); i++ {
		if l.es[i].e == e {
			copy(l.es[i:], l.es[i+1:])
			l.es[len(l.es)-1] = rangeEnt{}
			l.es = l.es[:len(l.es)-1]
			return
		}
	}
}

// Match calls fn once with the id of every predicate that may be True for
// r: a superset of those for which [Pred.Holds] is true or fails (the
// index decides one conjunct of each; the caller evaluates each
// candidate, or uses [Index.MatchTrue], which does). fn must not modify
// the index.
func (ix *Index) Match(r *pubsub.Row, fn func(id uint64)) {
	ix.match(r, func(e *entry) { fn(e.id) })
}

// MatchTrue calls fn(id, nil) for every predicate that is True for r, and
// fn(id, err) for every one that may be True but cannot be decided on r
// (err wraps [ErrNoValue]: a column it reads is absent or unchanged
// TOAST; fetch the row and evaluate again): [Pred.Holds] on every
// candidate of [Index.Match]. fn must not modify the index.
func (ix *Index) MatchTrue(r *pubsub.Row, fn func(id uint64, err error)) {
	ix.match(r, func(e *entry) {
		ok, err := e.pred.Holds(r)
		if ok || err != nil {
			fn(e.id, err)
		}
	})
}

func (ix *Index) match(r *pubsub.Row, fn func(*entry)) {
	for _, e := range ix.linear.es {
		fn(e)
	}
	for _, c := range ix.cols {
		st := r.State(c.name)
		switch st {
		case pubsub.Null:
			continue
		case pubsub.Present:
		default:
			// The value is not in the row: every predicate filed under
			// this column may hold.
			c.all(fn)
			continue
		}
		text, _ := r.Text(c.name)
		if c.t.array {
			if len(c.elem) == 0 {
				continue
			}
			elems, err := parseArrayText(c.t, text, false)
			if err != nil {
				c.all(fn)
				continue
			}
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
				if b := c.elem[k]; b != nil {
					for _, e := range b.es {
						fn(e)
					}
				}
			}
			continue
		}
		v, err := parseScalar(c.t, text, false)
		if err != nil {
			c.all(fn)
			continue
		}
		if len(c.eq) > 0 {
			if k, ok := keyOf(&c.t, &v); ok {
				if b := c.eq[k]; b != nil {
					for _, e := range b.es {
						fn(e)
					}
				}
			}
		}
		if n := len(c.lower.es); n > 0 {
			// Bounds below v (or equal, for >=) are candidates: a prefix.
			end := sort.Search(n, func(i int) bool { return cmpVal(&c.t, &v, &c.lower.es[i].v) < 0 })
			for i := 0; i < end; i++ {
				re := &c.lower.es[i]
				if re.strict && cmpVal(&c.t, &v, &re.v) == 0 {
					continue
				}
				fn(re.e)
			}
		}
		if n := len(c.upper.es); n > 0 {
			start := sort.Search(n, func(i int) bool { return cmpVal(&c.t, &v, &c.upper.es[i].v) <= 0 })
			for i := start; i < n; i++ {
				re := &c.upper.es[i]
				if re.strict && cmpVal(&c.t, &v, &re.v) == 0 {
					continue
				}
				fn(re.e)
			}
		}
	}
}

// all calls fn for every entry filed under the column.
func (c *colIndex) all(fn func(*entry)) {
	for _, b := range c.eq {
		for _, e := range b.es {
			// An IN entry is in several buckets: report it once.
			if len(e.slots) == 1 || e.slots[0].b == b {
				fn(e)
			}
		}
	}
	for _, b := range c.elem {
		for _, e := range b.es {
			fn(e)
		}
	}
	for i := range c.lower.es {
		fn(c.lower.es[i].e)
	}
	for i := range c.upper.es {
		fn(c.upper.es[i].e)
	}
}
