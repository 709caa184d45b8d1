package where

// The one-sided bounds of a column (col > v and col >= v in the lower
// tree, col < v and col <= v in the upper one) live in ivTrees too, each
// bound a range [v, v] (its max unused), so that adding or removing one
// costs O(log n) and the bounds a value passes are found in O(log n + k)
// (a sorted slice made 100,000 adds quadratic: 41 s).

// insertBound adds e's bound v; strict for > and <, not >= and <=.
func (tr *ivTree) insertBound(e *entry, v *value, strict bool, t *colType) {
	k := keyFor(t, v)
	tr.n++
	x := &ivNode{lo: v, hi: v, max: v, loK: k, hiK: k, maxK: k, e: e, strict: strict, prio: ivPrio(e.id)}
	tr.root = ivInsert(tr.root, x, t)
}

// below calls fn for every lower bound of the subtree that v (key vk)
// passes: those below v, and those equal to it that are not strict.
func (n *ivNode) below(t *colType, vk ordKey, v *value, fn func(*entry)) {
	for n != nil {
		switch c := cmpKeyed(t, vk, v, n.loK, n.lo); {
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
func (n *ivNode) above(t *colType, vk ordKey, v *value, fn func(*entry)) {
	for n != nil {
		switch c := cmpKeyed(t, vk, v, n.loK, n.lo); {
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
