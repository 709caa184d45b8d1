package where

import "sort"

// bucket is a set of entries with O(1) removal.
type bucket struct{ es []*entry }

func (b *bucket) add(e *entry, m *hmap, k hkey) {
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

func (l *rangeList) insert(e *entry, v value, strict bool, t *colType) {
	i := sort.Search(len(l.es), func(i int) bool { return cmpVal(t, &l.es[i].v, &v) >= 0 })
	l.es = append(l.es, rangeEnt{})
	copy(l.es[i+1:], l.es[i:])
	l.es[i] = rangeEnt{v: v, strict: strict, e: e}
	e.rng = l
	e.bound = &v
	e.t = t
}

func (l *rangeList) remove(e *entry) {
	i := sort.Search(len(l.es), func(i int) bool { return cmpVal(e.t, &l.es[i].v, e.bound) >= 0 })
	for ; i < len(l.es); i++ {
		if l.es[i].e == e {
			copy(l.es[i:], l.es[i+1:])
			l.es[len(l.es)-1] = rangeEnt{}
			l.es = l.es[:len(l.es)-1]
			return
		}
	}
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
