package where

// Index routes rows of one table to the predicates (shapes) they may
// satisfy. Each predicate is filed under one conjunct of its top-level
// AND, or, when that conjunct is an OR, under one conjunct of each of its
// disjuncts (the predicate is then a candidate when any of them selects
// it):
//
//   - col = v, col IN (...), col = ANY('{...}'), a boolean column, b IS
//     TRUE: in a hash table of the column, under each value;
//   - v = ANY(array_col), array_col @> '{...}': in a hash table of the
//     array's elements, under one element of the constant;
//   - col > v, col >= v: in a tree of lower bounds; col < v, col <= v:
//     in a tree of upper bounds (treaps ordered by the bound);
//   - col BETWEEN v AND w: in an interval tree (a treap ordered by v,
//     each node knowing the greatest w below it);
//   - each bound of a tree carries its ordKey, which settles
//     most comparisons without reading the bound's value;
//   - anything else (NOT, IS NULL, LIKE, <>, an OR with an unindexable
//     disjunct): in a list checked for every row.
//
// Of its indexable conjuncts a predicate is filed under the one that, as
// the index stands, adds the fewest candidates: the least crowded hash
// bucket (tenant_id = 7 rather than status = 'open' when many shapes
// share 'open'), a bound when buckets are crowded.
//
// A row costs one lookup per indexed column plus the candidates it
// yields: a predicate filed under a hash value or an element is a
// candidate only for rows with that value; one filed under a bound only
// for rows beyond the bound, one filed under a BETWEEN only for rows
// inside the range (a row outside every range costs O(log n)). Only
// predicates in the unindexed list cost something for every row. Adding
// or removing a bound or an interval costs O(log n).
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
	// ranges holds the places of the entries filed under a bound or a
	// BETWEEN in the trees of bounds and intervals (most entries have
	// none).
	ranges map[*entry][]rangeRef
	cells  []cell
	rv     rowVals
	// stamp numbers the Match calls: an entry reached twice by one row
	// (filed under several disjuncts) is reported once.
	stamp uint64
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
	colMap []int // the predicate's columns -> cells; nil: column i is cell i
	slots  []slot
	mark   uint64 // the stamp of the last Match that reported it
}

// slot is an entry's place in a bucket, and where the bucket is.
type slot struct {
	b    *bucket
	c    *colIndex // nil for the unindexed list
	k    hkey
	i    int32 // its position in b.es
	elem bool  // the bucket is in c.elem, not c.eq
}

// rangeRef is an entry's place in a tree of bounds or intervals of c.
type rangeRef struct {
	c    *colIndex
	kind rangeKind
	v    *value // the bound, or the interval's lower bound
}

type rangeKind uint8

const (
	rLower rangeKind = iota
	rUpper
	rInterval
)

// colIndex is the index of one column.
type colIndex struct {
	name  string
	t     colType
	slot  int
	eq    hmap   // hash of values (scalar columns)
	elem  hmap   // hash of elements (array columns)
	lower ivTree // col > v, col >= v (see insertBound)
	upper ivTree // col < v, col <= v
	iv    ivTree // col BETWEEN v AND w
}

// empty reports whether nothing is filed under c.
func (c *colIndex) empty() bool {
	return c.eq.len() == 0 && c.elem.len() == 0 && c.lower.n == 0 && c.upper.n == 0 && c.iv.root == nil
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{entries: map[uint64]*entry{}, cols: map[string]*colIndex{}, slots: map[slotKey]int{},
		ranges: map[*entry][]rangeRef{}}
}

// Len returns the number of predicates in the index.
func (ix *Index) Len() int { return len(ix.entries) }

// Add files p under id, replacing a predicate already filed under id.
func (ix *Index) Add(id uint64, p *Pred) {
	if _, ok := ix.entries[id]; ok {
		ix.Remove(id)
	}
	e := &entry{id: id, pred: p, colMap: make([]int, len(p.cols))}
	same := true
	for i := range p.cols {
		e.colMap[i] = ix.slot(&p.cols[i])
		same = same && e.colMap[i] == i
	}
	if same {
		e.colMap = nil
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
	var cols []*colIndex
	// Remove in reverse so an entry's later slots stay valid.
	for k := len(e.slots) - 1; k >= 0; k-- {
		s := e.slots[k]
		s.b.remove(s.i)
		if len(s.b.es) == 0 && s.c != nil {
			m := &s.c.eq
			if s.elem {
				m = &s.c.elem
			}
			m.del(s.k)
		}
		if s.c != nil {
			cols = append(cols, s.c)
		}
	}
	for _, r := range ix.ranges[e] {
		switch r.kind {
		case rLower:
			r.c.lower.remove(e, r.v, &r.c.t)
		case rUpper:
			r.c.upper.remove(e, r.v, &r.c.t)
		case rInterval:
			r.c.iv.remove(e, r.v, &r.c.t)
		}
		cols = append(cols, r.c)
	}
	e.slots = nil
	delete(ix.ranges, e)
	for _, c := range cols {
		if ix.cols[c.name] == c && c.empty() {
			delete(ix.cols, c.name)
			for i, x := range ix.colList {
				if x == c {
					ix.colList = append(ix.colList[:i], ix.colList[i+1:]...)
					break
				}
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

// column returns the index of column i of p, made when missing, or nil
// when the index already holds that column with another type; with
// make false it only checks.
func (ix *Index) column(p *Pred, i int, make bool) (*colIndex, bool) {
	bc := &p.cols[i]
	c, ok := ix.cols[bc.Name]
	if !ok {
		if !make {
			return nil, true
		}
		c = &colIndex{name: bc.Name, t: bc.t, slot: ix.slot(bc)}
		ix.cols[bc.Name] = c
		ix.colList = append(ix.colList, c)
		return c, true
	}
	if c.t.kind != bc.t.kind || c.t.oid != bc.t.oid || c.t.array != bc.t.array || len(c.t.labels) != len(bc.t.labels) {
		return nil, false
	}
	return c, true
}

// noIndex is the cost of a condition the index cannot file under.
const noIndex = 1 << 30

// plan chooses the conditions of n to file a predicate under: for an
// AND, those of its cheapest indexable operand; for an OR, those of
// every operand (all must be indexable); a leaf files under itself. It
// returns the candidates they add (noIndex: not indexable).
func (ix *Index) plan(p *Pred, n *node, leaves []*node) (int, []*node) {
	switch n.op {
	case nAnd:
		best, bestLeaves := noIndex, []*node(nil)
		for _, k := range n.kids {
			if c, ls := ix.plan(p, k, nil); c < best {
				best, bestLeaves = c, ls
			}
		}
		if best >= noIndex {
			return noIndex, leaves
		}
		return best, append(leaves, bestLeaves...)
	case nOr:
		sum := 0
		for _, k := range n.kids {
			var c int
			if c, leaves = ix.plan(p, k, leaves); c >= noIndex {
				return noIndex, leaves
			}
			sum += c
		}
		return min(sum, noIndex-1), leaves
	}
	c := ix.cost(p, n)
	if c >= noIndex {
		return noIndex, leaves
	}
	if _, ok := ix.column(p, n.col, false); !ok {
		return noIndex, leaves
	}
	return c, append(leaves, n)
}

// file files e under the conditions plan chooses, or in the unindexed
// list.
func (ix *Index) file(e *entry) {
	p := e.pred
	c, leaves := ix.plan(p, p.root, nil)
	if c >= noIndex {
		ix.linear.add(e, nil, false, hkey{})
		return
	}
	for _, n := range leaves {
		ix.fileLeaf(e, n)
	}
}

// fileLeaf files e under the condition n.
func (ix *Index) fileLeaf(e *entry, n *node) {
	p := e.pred
	c, _ := ix.column(p, n.col, true)
	t := &p.cols[n.col].t
	add := func(elem bool, k hkey) {
		m := &c.eq
		if elem {
			m = &c.elem
		}
		m.put(k).add(e, c, elem, k)
	}
	switch n.op {
	case nBoolCol, nIsTri:
		add(false, hkey{n: 1})
	case nCmp:
		switch n.cmp {
		case opEq:
			k, _ := keyOf(t, &n.vals[0])
			add(false, k)
		case opGt, opGe:
			c.lower.insertBound(e, &n.vals[0], n.cmp == opGt, t)
			ix.ranges[e] = append(ix.ranges[e], rangeRef{c: c, kind: rLower, v: &n.vals[0]})
		case opLt, opLe:
			c.upper.insertBound(e, &n.vals[0], n.cmp == opLt, t)
			ix.ranges[e] = append(ix.ranges[e], rangeRef{c: c, kind: rUpper, v: &n.vals[0]})
		}
	case nBetween:
		c.iv.insert(e, &n.vals[0], &n.vals[1], t)
		ix.ranges[e] = append(ix.ranges[e], rangeRef{c: c, kind: rInterval, v: &n.vals[0]})
	case nIn:
		seen := map[hkey]bool{}
		for i := range n.vals {
			if k, ok := keyOf(t, &n.vals[i]); ok && !seen[k] {
				seen[k] = true
				add(false, k)
			}
		}
	case nAnyArr, nContains:
		et := t.elem()
		k, _ := keyOf(&et, &n.vals[0])
		add(true, k)
	}
}

// cost estimates how many candidates filing e under condition n adds to
// the rows that reach it: the entries already in the buckets it would
// join (so a value many shapes share, status = 'open', loses to a rarer
// one), half the tree for a bound, a quarter of the intervals for a
// BETWEEN; noIndex means not indexable.
func (ix *Index) cost(p *Pred, n *node) int {
	const no = noIndex
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
			return c.upper.n/2 + 1
		}
		return c.lower.n/2 + 1
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
			// Only the ranges holding a row's value are candidates:
			// cheaper than a one-sided bound, dearer than a value.
			if c == nil {
				return 1
			}
			return c.iv.n/4 + 1
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
