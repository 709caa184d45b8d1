//go:build !race

package shapetest

const raceEnabled = false
