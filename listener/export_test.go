package listener

// MaxPending is maxPending for the external tests: the reader blocks on
// the dispatcher once that many events wait.
const MaxPending = maxPending
