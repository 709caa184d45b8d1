package shape

// keyIndex maps each key held by some shape of a table to those shapes:
// one map per table, shared by its shapes, instead of a key set per
// shape, so that an UPDATE or DELETE finds the shapes holding its old key
// without looking at the others. Owned by the router's goroutine.
//
// A shape is named by its kid (key-set id), which changes whenever its
// key set is replaced as a whole (a fresh snapshot, a TRUNCATE) and dies
// when the shape is dropped: the entries of a dead kid are not removed
// one by one but ignored, and swept once they are half of all entries.
// A key held by one shape costs one map entry of a string and a uint64.
type keyIndex struct {
	// first maps a key to the kid of its first holder, with moreBit set
	// when more has the key too.
	first map[string]uint64
	// more holds the other holders of the keys held by several shapes.
	more map[string][]uint64
	// entries counts the (key, kid) pairs held, dead counts those whose
	// kid is no longer alive.
	entries, dead int
}

// moreBit marks a first entry whose key has more holders.
const moreBit = 1 << 63

func newKeyIndex() keyIndex {
	return keyIndex{first: map[string]uint64{}, more: map[string][]uint64{}}
}

// has reports whether kid holds k.
func (ki *keyIndex) has(k string, kid uint64) bool {
	v, ok := ki.first[k]
	if !ok {
		return false
	}
	if v&^moreBit == kid {
		return true
	}
	if v&moreBit == 0 {
		return false
	}
	for _, x := range ki.more[k] {
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
	if !ok {
		ki.first[k] = kid
		return
	}
	ki.more[k] = append(ki.more[k], kid)
	ki.first[k] = v | moreBit
}

// remove forgets that kid holds k; false when it did not.
func (ki *keyIndex) remove(k string, kid uint64) bool {
	v, ok := ki.first[k]
	if !ok {
		return false
	}
	if v&^moreBit == kid {
		ki.entries--
		if v&moreBit == 0 {
			delete(ki.first, k)
			return true
		}
		ms := ki.more[k]
		last := ms[len(ms)-1]
		ki.setMore(k, ms[:len(ms)-1], last)
		return true
	}
	if v&moreBit == 0 {
		return false
	}
	ms := ki.more[k]
	for i, x := range ms {
		if x == kid {
			ki.entries--
			ms[i] = ms[len(ms)-1]
			ki.setMore(k, ms[:len(ms)-1], v&^moreBit)
			return true
		}
	}
	return false
}

// setMore makes first the first holder of k and ms its other holders.
func (ki *keyIndex) setMore(k string, ms []uint64, first uint64) {
	if len(ms) == 0 {
		delete(ki.more, k)
		ki.first[k] = first
		return
	}
	ki.more[k] = ms
	ki.first[k] = first | moreBit
}

// kill counts n entries as dead (their kid died) and sweeps them out
// when they are half of all entries; alive says which kids live.
func (ki *keyIndex) kill(n int, alive func(uint64) bool) {
	ki.dead += n
	if ki.dead < 1024 || 2*ki.dead < ki.entries {
		return
	}
	// Fresh maps: a map never shrinks, the live entries may be few.
	first := make(map[string]uint64, ki.entries-ki.dead)
	more := map[string][]uint64{}
	var buf []uint64
	for k, v := range ki.first {
		buf = buf[:0]
		if a := v &^ moreBit; alive(a) {
			buf = append(buf, a)
		}
		if v&moreBit != 0 {
			for _, x := range ki.more[k] {
				if alive(x) {
					buf = append(buf, x)
				}
			}
		}
		switch {
		case len(buf) == 1:
			first[k] = buf[0]
		case len(buf) > 1:
			more[k] = append([]uint64(nil), buf[1:]...)
			first[k] = buf[0] | moreBit
		}
	}
	ki.first, ki.more = first, more
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
	t.keys.kill(n, func(kid uint64) bool { return t.byKid[kid] != nil })
}

// setKeys makes keys sh's key set.
func (t *table) setKeys(sh *shape, keys []string) {
	t.newKid(sh)
	for _, k := range keys {
		t.keys.add(k, sh.kid)
	}
	sh.nkeys = len(keys)
}

// hasKey reports whether k is in sh's key set.
func (t *table) hasKey(sh *shape, k string) bool {
	return sh.kid != 0 && t.keys.has(k, sh.kid)
}

// addKey puts k, not there yet, into sh's key set.
func (t *table) addKey(sh *shape, k string) {
	if sh.kid == 0 {
		t.newKid(sh)
	}
	t.keys.add(k, sh.kid)
	sh.nkeys++
}

// removeKey takes k out of sh's key set.
func (t *table) removeKey(sh *shape, k string) {
	if sh.kid != 0 && t.keys.remove(k, sh.kid) {
		sh.nkeys--
	}
}

// holders appends the live shapes whose key set has k to buf.
func (t *table) holders(k string, buf []*shape) []*shape {
	v, ok := t.keys.first[k]
	if !ok {
		return buf
	}
	if sh := t.byKid[v&^moreBit]; sh != nil {
		buf = append(buf, sh)
	}
	if v&moreBit != 0 {
		for _, kid := range t.keys.more[k] {
			if sh := t.byKid[kid]; sh != nil {
				buf = append(buf, sh)
			}
		}
	}
	return buf
}
