package where

import "sort"

// bucket is a set of entries with O(1) removal.
type bucket struct{ es []*entry }

// add puts e into b, the bucket of k in c's eq or elem table (c nil: the
// unindexed list).
func (b *bucket) add(e *entry, c *colIndex, elem bool, k hkey) {
	e.slots = append(e.slots, slot{b: b, i: int32(len(b.es)), c: c, elem: elem, k: k})
	b.es = append(b.es, e)
}

// remove drops the entry at i, moving the last one there.
func (b *bucket) remove(i int32) {
	last := int32(len(b.es) - 1)
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

// rangeList is a list of entries sorted by their bound.
type rangeList struct {
	es    []rangeEnt
	upper bool
}

// rangeEnt is an entry and its bound, a value of its predicate (which
// is immutable and outlives the entry), and the bound's key.
type rangeEnt struct {
	v      *value
	e      *entry
	k      ordKey
	strict bool // > or <, not >= or <=
}

// cmp compares v, whose key is vk, with the entry's bound.
func (r *rangeEnt) cmp(t *colType, vk ordKey, v *value) int {
	return cmpKeyed(t, vk, v, r.k, r.v)
}

// search returns the index of the first bound at or above v.
func (l *rangeList) search(t *colType, vk ordKey, v *value) int {
	return sort.Search(len(l.es), func(i int) bool { return l.es[i].cmp(t, vk, v) <= 0 })
}

func (l *rangeList) insert(e *entry, v *value, strict bool, t *colType) {
	k := keyFor(t, v)
	i := l.search(t, k, v)
	l.es = append(l.es, rangeEnt{})
	copy(l.es[i+1:], l.es[i:])
	l.es[i] = rangeEnt{v: v, k: k, strict: strict, e: e}
}

func (l *rangeList) remove(e *entry, v *value, t *colType) {
	i := l.search(t, keyFor(t, v), v)
	for ; i < len(l.es); i++ {
		if l.es[i].e == e {
			copy(l.es[i:], l.es[i+1:])
			l.es[len(l.es)-1] = rangeEnt{}
			l.es = l.es[:len(l.es)-1]
			return
		}
	}
}
