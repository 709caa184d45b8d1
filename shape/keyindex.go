package shape

import "slices"

// keyIndex maps each key held by some shape of a table to those shapes:
// one map per table, shared by its shapes, instead of a key set per
// shape, so that an UPDATE or DELETE finds the shapes holding its old key
// without looking at the others. Owned by the router's goroutine.
//
// A shape is named by its kid (key-set id), which changes whenever its
// key set is replaced as a whole (a fresh snapshot, a TRUNCATE) and dies
// when the shape is dropped: the entries of a dead kid are not removed
// one by one but ignored, and swept once they are half of all entries.
// A key held by one shape costs one map entry of a string and a uint64; a
// key held by several has, instead of the kid, the number of a list of
// their kids (a slice header and 8 bytes per holder): the key's string is
// not stored again.
type keyIndex struct {
	// first maps a key to the kid of its holder, or, with moreBit set,
	// to the position in lists of its holders' kids.
	first map[string]uint64
	// lists holds the kids of the keys held by several shapes (two at
	// least); free lists the positions not in use.
	lists [][]uint64
	free  []uint64
	// entries counts the (key, kid) pairs held, dead counts those whose
	// kid is no longer alive.
	entries, dead int
}

// moreBit marks a first entry that is a position in lists.
const moreBit = 1 << 63

func newKeyIndex() keyIndex {
	return keyIndex{first: map[string]uint64{}}
}

// has reports whether kid holds k.
func (ki *keyIndex) has(k string, kid uint64) bool {
	v, ok := ki.first[k]
	if !ok {
		return false
	}
	if v&moreBit == 0 {
		return v == kid
	}
	for _, x := range ki.lists[v&^moreBit] {
		if x == kid {
			return true
		}
	}
	return false
}

// add records that kid holds k; kid must not hold it already.
func (ki *keyIndex) add(k string, kid uint64) {
	ki.entries++
	v, ok := ki.first[k]
	switch {
	case !ok:
		ki.first[k] = kid
	case v&moreBit == 0:
		ki.first[k] = ki.newList(v, kid) | moreBit
	default:
		ki.lists[v&^moreBit] = append(ki.lists[v&^moreBit], kid)
	}
}

// newList stores the kids a and b as a list and returns its position.
func (ki *keyIndex) newList(a, b uint64) uint64 {
	l := []uint64{a, b}
	if n := len(ki.free); n > 0 {
		i := ki.free[n-1]
		ki.free = ki.free[:n-1]
		ki.lists[i] = l
		return i
	}
	ki.lists = append(ki.lists, l)
	return uint64(len(ki.lists) - 1)
}

// remove forgets that kid holds k; false when it did not.
func (ki *keyIndex) remove(k string, kid uint64) bool {
	v, ok := ki.first[k]
	if !ok {
		return false
	}
	if v&moreBit == 0 {
		if v != kid {
			return false
		}
		ki.entries--
		delete(ki.first, k)
		return true
	}
	i := v &^ moreBit
	l := ki.lists[i]
	for j, x := range l {
		if x != kid {
			continue
		}
		ki.entries--
		l[j] = l[len(l)-1]
		l = l[:len(l)-1]
		if len(l) == 1 {
			ki.first[k] = l[0]
			ki.lists[i] = nil
			ki.free = append(ki.free, i)
		} else {
			ki.lists[i] = l
		}
		return true
	}
	return false
}

// kill counts n entries as dead (their kid died) and sweeps them out
// when they are half of all entries; alive says which kids live.
func (ki *keyIndex) kill(n int, alive func(uint64) bool) {
	ki.dead += n
	if ki.dead < 1024 || 2*ki.dead < ki.entries {
		return
	}
	// Fresh maps and lists: a map never shrinks, the live entries may be
	// few.
	first := make(map[string]uint64, ki.entries-ki.dead)
	var lists [][]uint64
	for k, v := range ki.first {
		if v&moreBit == 0 {
			if alive(v) {
				first[k] = v
			}
			continue
		}
		var l []uint64
		for _, x := range ki.lists[v&^moreBit] {
			if alive(x) {
				l = append(l, x)
			}
		}
		switch {
		case len(l) == 1:
			first[k] = l[0]
		case len(l) > 1:
			lists = append(lists, l)
			first[k] = uint64(len(lists)-1) | moreBit
		}
	}
	ki.first, ki.lists, ki.free = first, lists, nil
	ki.entries -= ki.dead
	ki.dead = 0
}

// newKid gives sh a fresh, empty key set, retiring its old one.
func (t *table) newKid(sh *shape) {
	t.retireKid(sh)
	t.nextKid++
	sh.kid = t.nextKid
	t.byKid[sh.kid] = sh
}

// retireKid forgets sh's key set (its entries die).
func (t *table) retireKid(sh *shape) {
	if sh.kid == 0 {
		return
	}
	delete(t.byKid, sh.kid)
	sh.kid = 0
	n := sh.nkeys
	sh.nkeys = 0
	if i := slices.IndexFunc(t.unindexed, func(ks keySet) bool { return ks.sh == sh }); i >= 0 {
		// Never indexed: nothing to count dead.
		t.unindexed = slices.Delete(t.unindexed, i, i+1)
		return
	}
	t.keys.kill(n, func(kid uint64) bool { return t.byKid[kid] != nil })
}

// keySet is a shape's key set from a snapshot, not yet indexed.
type keySet struct {
	sh   *shape
	keys []string
}

// setKeys makes keys sh's key set. An empty one takes no kid (addKey
// gives one): an idle shape matching no row holds nothing here. The keys
// enter the index only when a change of the table first needs it
// (settle): a snapshot's first client does not wait for, nor share the
// CPU with, indexing keys no change has asked about yet.
func (t *table) setKeys(sh *shape, keys []string) {
	if len(keys) == 0 {
		t.retireKid(sh)
		return
	}
	t.newKid(sh)
	t.unindexed = append(t.unindexed, keySet{sh: sh, keys: keys})
	sh.nkeys = len(keys)
}

// settle puts the key sets setKeys kept aside into the index. Every
// reader and writer of the index calls it first.
func (t *table) settle() {
	if len(t.unindexed) == 0 {
		return
	}
	for _, ks := range t.unindexed {
		ks.sh.nkeys = t.keys.addAll(ks.keys, ks.sh.kid)
	}
	clear(t.unindexed)
	t.unindexed = t.unindexed[:0]
}

// addAll records that kid, a fresh one, holds keys, and returns how many
// distinct keys it recorded. Into an empty index (a table's first shape)
// each key costs one map assignment in a map sized once.
func (ki *keyIndex) addAll(keys []string, kid uint64) int {
	if len(ki.first) > 0 {
		for _, k := range keys {
			ki.add(k, kid)
		}
		return len(keys)
	}
	ki.first = make(map[string]uint64, len(keys))
	for _, k := range keys {
		ki.first[k] = kid // a key twice (no unique key) is counted once
	}
	ki.lists, ki.free = nil, nil
	ki.entries, ki.dead = len(ki.first), 0
	return len(ki.first)
}

// hasKey reports whether k is in sh's key set.
func (t *table) hasKey(sh *shape, k string) bool {
	t.settle()
	return sh.kid != 0 && t.keys.has(k, sh.kid)
}

// addKey puts k, not there yet, into sh's key set.
func (t *table) addKey(sh *shape, k string) {
	t.settle()
	if sh.kid == 0 {
		t.newKid(sh)
	}
	t.keys.add(k, sh.kid)
	sh.nkeys++
}

// removeKey takes k out of sh's key set.
func (t *table) removeKey(sh *shape, k string) {
	t.settle()
	if sh.kid != 0 && t.keys.remove(k, sh.kid) {
		sh.nkeys--
	}
}

// holders appends the live shapes whose key set has k to buf.
func (t *table) holders(k string, buf []*shape) []*shape {
	t.settle()
	v, ok := t.keys.first[k]
	if !ok {
		return buf
	}
	if v&moreBit == 0 {
		if sh := t.byKid[v]; sh != nil {
			buf = append(buf, sh)
		}
		return buf
	}
	for _, kid := range t.keys.lists[v&^moreBit] {
		if sh := t.byKid[kid]; sh != nil {
			buf = append(buf, sh)
		}
	}
	return buf
}
