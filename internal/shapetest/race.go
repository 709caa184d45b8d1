//go:build race

package shapetest

// raceEnabled: the race detector slows the router about tenfold, so the
// writers pace themselves accordingly.
const raceEnabled = true
