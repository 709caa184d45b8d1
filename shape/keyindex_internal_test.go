package shape

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestKeyIndex runs random adds, removes and kid deaths against a map of
// sets and compares every key's holders after each step.
func TestKeyIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ki := newKeyIndex()
	model := map[uint64]map[string]bool{} // live kids -> keys
	alive := func(kid uint64) bool { return model[kid] != nil }
	next := uint64(0)
	for step := range 20_000 {
		k := strconv.Itoa(rng.IntN(50))
		switch op := rng.IntN(10); {
		case op < 5 || len(model) == 0:
			if len(model) == 0 || rng.IntN(8) == 0 {
				next++
				model[next] = map[string]bool{}
			}
			kid := uint64(rng.IntN(int(next))) + 1
			if keys := model[kid]; keys != nil && !keys[k] {
				keys[k] = true
				ki.add(k, kid)
			}
		case op < 9:
			kid := uint64(rng.IntN(int(next))) + 1
			if keys := model[kid]; keys != nil {
				if got := ki.remove(k, kid); got != keys[k] {
					t.Fatalf("step %d: remove(%s, %d) = %v, want %v", step, k, kid, got, keys[k])
				}
				delete(keys, k)
			}
		default:
			kid := uint64(rng.IntN(int(next))) + 1
			if keys := model[kid]; keys != nil {
				delete(model, kid)
				ki.kill(len(keys), alive)
			}
		}
		// The whole index against the model every 32 steps and at the
		// end; the key just touched at every step. (Every key at every
		// step made the test take 50 s under -race.)
		check := []string{k}
		if step%32 == 0 || step == 20_000-1 {
			check = check[:0]
			for i := range 50 {
				check = append(check, strconv.Itoa(i))
			}
		}
		for _, k := range check {
			for kid, keys := range model {
				if ki.has(k, kid) != keys[k] {
					t.Fatalf("step %d: has(%s, %d) = %v, want %v", step, k, kid, !keys[k], keys[k])
				}
			}
		}
	}
	live := 0
	for _, keys := range model {
		live += len(keys)
	}
	if ki.entries-ki.dead != live {
		t.Fatalf("entries %d - dead %d, want %d live", ki.entries, ki.dead, live)
	}
}
