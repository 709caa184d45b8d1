package where

// ivTree holds the BETWEEN ranges of a column (or its one-sided bounds,
// see insertBound): a treap ordered by lower
// bound (then entry id), each node knowing the greatest upper bound in
// its subtree, so that the ranges holding a value are found without
// looking at the others: a value above every upper bound costs one
// comparison, one below every lower bound a walk down the left edge.
type ivTree struct {
	root *ivNode
	n    int
}

// ivNode is one range; lo and hi are values of its predicate, loK, hiK
// and maxK the keys (see ordKey) of lo, hi and max.
type ivNode struct {
	lo, hi         *value
	max            *value // the greatest hi in the subtree
	loK, hiK, maxK ordKey
	e              *entry
	prio           uint64
	left, right    *ivNode
	strict         bool // a bound (see insertBound): > or <, not >= or <=
}

// ivPrio is a node's heap priority: a hash of its entry's id, which
// keeps the treap balanced in expectation for any order of ids.
func ivPrio(id uint64) uint64 {
	id += 0x9e3779b97f4a7c15
	id = (id ^ id>>30) * 0xbf58476d1ce4e5b9
	id = (id ^ id>>27) * 0x94d049bb133111eb
	return id ^ id>>31
}

// after reports whether the range with lower bound lo of entry id goes
// after node n.
func (n *ivNode) after(t *colType, loK ordKey, lo *value, id uint64) bool {
	if c := cmpKeyed(t, loK, lo, n.loK, n.lo); c != 0 {
		return c > 0
	}
	return id > n.e.id
}

// fix recomputes n.max from n and its children.
func (n *ivNode) fix(t *colType) {
	n.max, n.maxK = n.hi, n.hiK
	if l := n.left; l != nil && cmpKeyed(t, l.maxK, l.max, n.maxK, n.max) > 0 {
		n.max, n.maxK = l.max, l.maxK
	}
	if r := n.right; r != nil && cmpKeyed(t, r.maxK, r.max, n.maxK, n.max) > 0 {
		n.max, n.maxK = r.max, r.maxK
	}
}

// insert adds the range [lo, hi] of e.
func (tr *ivTree) insert(e *entry, lo, hi *value, t *colType) {
	tr.n++
	loK, hiK := keyFor(t, lo), keyFor(t, hi)
	x := &ivNode{lo: lo, hi: hi, max: hi, loK: loK, hiK: hiK, maxK: hiK, e: e, prio: ivPrio(e.id)}
	tr.root = ivInsert(tr.root, x, t)
}

func ivInsert(n, x *ivNode, t *colType) *ivNode {
	if n == nil {
		return x
	}
	if n.after(t, x.loK, x.lo, x.e.id) {
		n.right = ivInsert(n.right, x, t)
		if n.right.prio > n.prio {
			r := n.right
			n.right, r.left = r.left, n
			n.fix(t)
			r.fix(t)
			return r
		}
	} else {
		n.left = ivInsert(n.left, x, t)
		if n.left.prio > n.prio {
			l := n.left
			n.left, l.right = l.right, n
			n.fix(t)
			l.fix(t)
			return l
		}
	}
	n.fix(t)
	return n
}

// remove drops e's range whose lower bound is lo (the very value
// inserted: an entry filed under two ranges of the column, one per
// disjunct, has two nodes).
func (tr *ivTree) remove(e *entry, lo *value, t *colType) {
	var found bool
	tr.root, found = ivRemove(tr.root, e, keyFor(t, lo), lo, t)
	if found {
		tr.n--
	}
}

func ivRemove(n *ivNode, e *entry, loK ordKey, lo *value, t *colType) (*ivNode, bool) {
	if n == nil {
		return nil, false
	}
	var found bool
	switch {
	case n.e == e && n.lo == lo:
		return ivMerge(n.left, n.right, t), true
	case n.after(t, loK, lo, e.id):
		n.right, found = ivRemove(n.right, e, loK, lo, t)
	default:
		n.left, found = ivRemove(n.left, e, loK, lo, t)
	}
	n.fix(t)
	return n, found
}

// ivMerge joins two treaps, every node of a before every node of b.
func ivMerge(a, b *ivNode, t *colType) *ivNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = ivMerge(a.right, b, t)
		a.fix(t)
		return a
	default:
		b.left = ivMerge(a, b.left, t)
		b.fix(t)
		return b
	}
}

// stab calls fn for every range of the subtree holding v, whose key is
// vk.
func (n *ivNode) stab(t *colType, vk ordKey, v *value, fn func(*entry)) {
	for n != nil && cmpKeyed(t, n.maxK, n.max, vk, v) >= 0 {
		n.left.stab(t, vk, v, fn)
		if cmpKeyed(t, n.loK, n.lo, vk, v) > 0 {
			// This range and those to its right start above v.
			return
		}
		if n.hi == n.max || cmpKeyed(t, n.hiK, n.hi, vk, v) >= 0 {
			fn(n.e)
		}
		n = n.right
	}
}

// each calls fn for every range.
func (n *ivNode) each(fn func(*entry)) {
	for n != nil {
		n.left.each(fn)
		fn(n.e)
		n = n.right
	}
}
