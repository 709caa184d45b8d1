package shape_test

import (
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/shapetest"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// replica is a subscriber's copy of a shape (see shapetest.Replica).
type replica = shapetest.Replica

// follow starts a replica of sub.
func follow(sub *shape.Subscription, def shape.Definition, slow time.Duration, loose bool) *replica {
	return shapetest.Follow(sub, def, slow, loose)
}

// quiet commits marker row id and waits until the router applied
// everything committed before and every replica applied what it was
// given.
func (b *bundle) quiet(t *testing.T, marker *replica, id int, reps []*replica) {
	t.Helper()
	shapetest.Quiet(t, b.pool, b.m, marker, id, reps)
}

// check compares every replica with PostgreSQL's SELECT.
func (b *bundle) check(t *testing.T, reps []*replica) {
	t.Helper()
	shapetest.Check(t, b.pool, reps)
}
