package cluster

// EventDiff is eventDiff, for the package's external tests.
var EventDiff = eventDiff
