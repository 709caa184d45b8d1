package where

// boundTree holds the one-sided bounds of a column: col > v and col >= v
// in the lower tree, col < v and col <= v in the upper one. It is a treap
// ordered by bound, then entry id, so that adding or removing a bound
// costs O(log n) and the bounds a value passes are found in O(log n + k)
// (a sorted slice made 100,000 adds quadratic: 41 s).
type boundTree struct {
	root *boundNode
	n    int
}

// boundNode is one bound: v, a value of the entry's predicate (immutable,
// it outlives the entry), and its key.
type boundNode struct {
	v           *value
	k           ordKey
	e           *entry
	strict      bool // > or <, not >= or <=
	prio        uint64
	left, right *boundNode
}

// after reports whether the bound v (key k) of entry id goes after n.
func (n *boundNode) after(t *colType, k ordKey, v *value, id uint64) bool {
	if c := cmpKeyed(t, k, v, n.k, n.v); c != 0 {
		return c > 0
	}
	return id > n.e.id
}

func (tr *boundTree) insert(e *entry, v *value, strict bool, t *colType) {
	tr.n++
	tr.root = bInsert(tr.root, &boundNode{v: v, k: keyFor(t, v), e: e, strict: strict, prio: ivPrio(e.id)}, t)
}

func bInsert(n, x *boundNode, t *colType) *boundNode {
	if n == nil {
		return x
	}
	if n.after(t, x.k, x.v, x.e.id) {
		n.right = bInsert(n.right, x, t)
		if n.right.prio > n.prio {
			r := n.right
			n.right, r.left = r.left, n
			return r
		}
	} else {
		n.left = bInsert(n.left, x, t)
		if n.left.prio > n.prio {
			l := n.left
			n.left, l.right = l.right, n
			return l
		}
	}
	return n
}

// remove drops e's bound v (the very value inserted: an entry filed under
// two bounds of the column, one per disjunct, has two nodes).
func (tr *boundTree) remove(e *entry, v *value, t *colType) {
	var found bool
	tr.root, found = bRemove(tr.root, e, keyFor(t, v), v, t)
	if found {
		tr.n--
	}
}

func bRemove(n *boundNode, e *entry, k ordKey, v *value, t *colType) (*boundNode, bool) {
	if n == nil {
		return nil, false
	}
	var found bool
	switch {
	case n.e == e && n.v == v:
		return bMerge(n.left, n.right), true
	case n.after(t, k, v, e.id):
		n.right, found = bRemove(n.right, e, k, v, t)
	default:
		n.left, found = bRemove(n.left, e, k, v, t)
	}
	return n, found
}

// bMerge joins two treaps, every node of a before every node of b.
func bMerge(a, b *boundNode) *boundNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = bMerge(a.right, b)
		return a
	default:
		b.left = bMerge(a, b.left)
		return b
	}
}

// below calls fn for every lower bound of the subtree that v (key vk)
// passes: those below v, and those equal to it that are not strict.
func (n *boundNode) below(t *colType, vk ordKey, v *value, fn func(*entry)) {
	for n != nil {
		switch c := cmpKeyed(t, vk, v, n.k, n.v); {
		case c > 0:
			n.left.each(fn)
			fn(n.e)
		case c == 0:
			n.left.below(t, vk, v, fn)
			if !n.strict {
				fn(n.e)
			}
		default:
			n = n.left
			continue
		}
		n = n.right
	}
}

// above calls fn for every upper bound of the subtree that v (key vk)
// passes: those above v, and those equal to it that are not strict.
func (n *boundNode) above(t *colType, vk ordKey, v *value, fn func(*entry)) {
	for n != nil {
		switch c := cmpKeyed(t, vk, v, n.k, n.v); {
		case c < 0:
			n.right.each(fn)
			fn(n.e)
		case c == 0:
			n.right.above(t, vk, v, fn)
			if !n.strict {
				fn(n.e)
			}
		default:
			n = n.right
			continue
		}
		n = n.left
	}
}

// each calls fn for every bound of the subtree.
func (n *boundNode) each(fn func(*entry)) {
	for n != nil {
		n.left.each(fn)
		fn(n.e)
		n = n.right
	}
}
