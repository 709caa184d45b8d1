package shape

import (
	"strconv"
	"testing"
	"time"
)

// Shapes that lose their last subscriber are evicted (at MaxShapes) and
// expired (after Grace) oldest first; one that gains a subscriber again,
// or was dropped, is passed over.
func TestIdleShapesOldestFirst(t *testing.T) {
	r, _, _ := benchRouter(t, 0)
	shapes := make([]*shape, 5)
	subs := make([]*Subscription, 5)
	for i := range shapes {
		key := strconv.Itoa(i)
		shapes[i] = addBenchShape(t, r, "tenant_id = $1", []string{key}, key)
		subs[i] = newSubscription(r.m)
		subs[i].sh, subs[i].info = shapes[i], shapes[i].info
		shapes[i].subs = append(shapes[i].subs, subs[i])
	}
	// Idle in the order 2, 4, 1, 0, 3.
	for _, i := range []int{2, 4, 1, 0, 3} {
		subs[i].Close()
		r.reap()
	}
	// 4 gains a subscriber again; 1 is dropped by other means.
	back := newSubscription(r.m)
	back.sh, back.info = shapes[4], shapes[4].info
	shapes[4].subs, shapes[4].idleSince = append(shapes[4].subs, back), 0
	r.drop(shapes[1])

	if !r.evictIdle() || !shapes[2].dropped {
		t.Fatal("the shape idle the longest (2) was not the one evicted")
	}
	// Expiry: 0 has been idle past Grace at a time between its going idle
	// and 3's.
	r.m.cfg.Grace = time.Hour
	r.expire(r.epoch.Add(shapes[0].idleSince + time.Hour))
	if !shapes[0].dropped || (shapes[3].dropped && shapes[3].idleSince > shapes[0].idleSince) {
		t.Fatalf("expiry at 0's deadline: 0 dropped %v, 3 dropped %v", shapes[0].dropped, shapes[3].dropped)
	}
	if !r.evictIdle() || !shapes[3].dropped {
		t.Fatal("3, the last idle shape, was not evicted")
	}
	if r.evictIdle() {
		t.Fatal("a shape was evicted with none idle")
	}
	if shapes[4].dropped {
		t.Fatal("a shape with a subscriber was dropped")
	}
	if len(r.idle.q) != 0 {
		t.Fatalf("%d entries left in the idle queue", len(r.idle.q)-r.idle.head)
	}
}
