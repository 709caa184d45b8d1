//go:build race

package shape_test

// raceEnabled: the race detector slows the router about tenfold, so the
// writers of the differential tests pace themselves accordingly.
const raceEnabled = true
