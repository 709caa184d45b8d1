// Package shapetest is the differential test of live shapes, shared by
// the shape package's tests (WAL and NOTIFY mode) and the cluster
// module's (a Manager on a follower): random writers move rows of table
// items in and out of random shapes while shapes are made at random
// moments, and at the end every subscriber's copy must equal
// PostgreSQL's SELECT of its definition.
//
// [Tables] is the schema the workload writes; [Differential] runs the
// whole test on a running [shape.Manager]; [Follow], [Quiet] and [Check]
// are its parts, for tests of their own. Nothing here is part of the
// public API.
package shapetest
