package where

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
