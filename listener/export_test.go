package listener

// MaxPending is maxPending for the external tests: the reader blocks on
// the dispatcher once that many events wait.
const MaxPending = maxPending

// HoldDelivery makes l's dispatcher call hold before each batch it
// delivers (the fan-out), from the next Serve on. Call it before Serve.
func HoldDelivery(l *Listener, hold func()) { l.holdDelivery = hold }
