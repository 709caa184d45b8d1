package where

// Index routes rows of one table to the predicates (shapes) they may
// satisfy. Each predicate is filed under one conjunct of its top-level
// AND:
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
// Of its indexable conjuncts a predicate is filed under the one that, as
// the index stands, adds the fewest candidates: the least crowded hash
// bucket (tenant_id = 7 rather than status = 'open' when many shapes
// share 'open'), a bound when buckets are crowded.
//
// A row costs one lookup per indexed column plus the candidates it
// yields: a predicate filed under a hash value or an element is a
// candidate only for rows with that value; one filed under a bound only
// for rows beyond the bound (a BETWEEN is filed under its lower bound
// alone, so rows above its upper bound still reach it). Only predicates in
// the unindexed list cost something for every row. Adding or removing a
// bound moves the sorted list's tail (a copy of up to 16 bytes per
// entry).
//
// Columns are read from a row once per Match, whatever the number of
// predicates evaluated on it.
//
// An Index is not safe for concurrent use: the caller serialises every
// call (Match reuses a buffer of the index).
type Index struct {
	entries map[uint64]*entry
	cols    map[string]*colIndex
	colList []*colIndex
	linear  bucket
	slots   map[slotKey]int // a column and type -> its cell in a row's cache
	cells   []cell
	rv      rowVals
}

// slotKey identifies a column read with one type.
type slotKey struct {
	name    string
	kind    kind
	oid     uint32
	array   bool
	nlabels int
}

// entry is one predicate and where it is filed.
type entry struct {
	id     uint64
	pred   *Pred
	colMap []int // the predicate's columns -> cells
	slots  []slot
	col    *colIndex  // the column it is filed under; nil for the unindexed list
	rng    *rangeList // the sorted list it is in, if any
	bound  *value     // its bound in rng (only range entries pay for it)
	t      *colType
}

// slot is an entry's place in a bucket, and where the bucket is.
type slot struct {
	b *bucket
	i int
	m *hmap // nil for the unindexed list
	k hkey
}

// colIndex is the index of one column.
type colIndex struct {
	name  string
	t     colType
	slot  int
	eq    hmap      // hash of values (scalar columns)
	elem  hmap      // hash of elements (array columns)
	lower rangeList // col > v, col >= v, BETWEEN: sorted by v
	upper rangeList // col < v, col <= v: sorted by v
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{entries: map[uint64]*entry{}, cols: map[string]*colIndex{}, slots: map[slotKey]int{}}
}

// Len returns the number of predicates in the index.
func (ix *Index) Len() int { return len(ix.entries) }

// Add files p under id, replacing a predicate already filed under id.
func (ix *Index) Add(id uint64, p *Pred) {
	if _, ok := ix.entries[id]; ok {
		ix.Remove(id)
	}
	e := &entry{id: id, pred: p, colMap: make([]int, len(p.cols))}
	for i := range p.cols {
		e.colMap[i] = ix.slot(&p.cols[i])
	}
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
			s.m.del(s.k)
		}
	}
	e.slots = nil
	if e.rng != nil {
		e.rng.remove(e)
	}
	if c := e.col; c != nil && c.eq.len() == 0 && c.elem.len() == 0 && len(c.lower.es) == 0 && len(c.upper.es) == 0 {
		delete(ix.cols, c.name)
		for i, x := range ix.colList {
			if x == c {
				ix.colList = append(ix.colList[:i], ix.colList[i+1:]...)
				break
			}
		}
	}
}

// slot returns the cell of a column in a row's cache.
func (ix *Index) slot(c *boundCol) int {
	k := slotKey{name: c.Name, kind: c.t.kind, oid: c.t.oid, array: c.t.array, nlabels: len(c.t.labels)}
	n, ok := ix.slots[k]
	if !ok {
		n = len(ix.slots)
		ix.slots[k] = n
	}
	return n
}

// column returns the index of column i of p, or nil when the index
// already holds that column with another type.
func (ix *Index) column(p *Pred, i int) *colIndex {
	bc := &p.cols[i]
	c, ok := ix.cols[bc.Name]
	if !ok {
		c = &colIndex{name: bc.Name, t: bc.t, slot: ix.slot(bc), upper: rangeList{upper: true}}
		ix.cols[bc.Name] = c
		ix.colList = append(ix.colList, c)
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
	// The conjunct that adds the fewest candidates wins.
	best, bestRank := (*node)(nil), 1<<30
	for _, n := range conj {
		r := ix.cost(p, n)
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
	add := func(m *hmap, k hkey) {
		m.put(k).add(e, m, k)
	}
	switch best.op {
	case nBoolCol:
		add(&c.eq, hkey{n: 1})
	case nIsTri:
		add(&c.eq, hkey{n: 1})
	case nCmp:
		switch best.cmp {
		case opEq:
			k, _ := keyOf(t, &best.vals[0])
			add(&c.eq, k)
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
				add(&c.eq, k)
			}
		}
	case nAnyArr:
		et := t.elem()
		k, _ := keyOf(&et, &best.vals[0])
		add(&c.elem, k)
	case nContains:
		et := t.elem()
		k, _ := keyOf(&et, &best.vals[0])
		add(&c.elem, k)
	}
}

// cost estimates how many candidates filing e under conjunct n adds to
// the rows that reach it: the entries already in the buckets it would
// join (so a value many shapes share, status = 'open', loses to a rarer
// one), half a sorted list for a bound; 1<<30 means not indexable.
func (ix *Index) cost(p *Pred, n *node) int {
	const no = 1 << 30
	switch n.op {
	case nAnd, nOr, nNot, nConst, nIsNull, nLike:
		return no
	case nIsTri:
		if n.kids[0].op != nBoolCol {
			return no
		}
	}
	c := ix.cols[p.cols[n.col].Name]
	t := &p.cols[n.col].t
	size := func(m func(*colIndex) *hmap, k hkey) int {
		if c == nil {
			return 1
		}
		if b := m(c).get(k); b != nil {
			return len(b.es) + 1
		}
		return 1
	}
	eq := func(c *colIndex) *hmap { return &c.eq }
	elem := func(c *colIndex) *hmap { return &c.elem }
	bound := func(upper bool) int {
		if c == nil {
			return 1
		}
		if upper {
			return len(c.upper.es)/2 + 1
		}
		return len(c.lower.es)/2 + 1
	}
	switch n.op {
	case nBoolCol:
		return size(eq, hkey{n: 1})
	case nIsTri:
		if k := n.kids[0]; k.op == nBoolCol && n.tri == True && !n.not {
			return size(eq, hkey{n: 1})
		}
	case nCmp:
		v := &n.vals[0]
		if v.null {
			return no
		}
		switch n.cmp {
		case opEq:
			if k, ok := keyOf(t, v); ok {
				return size(eq, k)
			}
		case opGt, opGe:
			return bound(false)
		case opLt, opLe:
			return bound(true)
		}
	case nBetween:
		if !n.not && !n.vals[0].null && !n.vals[1].null {
			return bound(false)
		}
	case nIn:
		if n.not {
			return no
		}
		sum, any := 0, false
		for i := range n.vals {
			if k, ok := keyOf(t, &n.vals[i]); ok {
				sum += size(eq, k)
				any = true
			}
		}
		if any {
			return sum
		}
	case nAnyArr:
		if !n.vals[0].null {
			et := t.elem()
			k, _ := keyOf(&et, &n.vals[0])
			return size(elem, k)
		}
	case nContains:
		if !n.constNull && len(n.vals) > 0 && !n.vals[0].null {
			et := t.elem()
			k, _ := keyOf(&et, &n.vals[0])
			return size(elem, k)
		}
	}
	return no
}
