package pubsub

// Hooks for the external tests of the mailbox's queue and pump.

// QueueChunks returns how many chunks the mailbox's queue holds.
func (mb *Mailbox) QueueChunks() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.queue.chunkCount()
}

// Pumping reports whether a pump goroutine is due or running.
func (mb *Mailbox) Pumping() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.pumping.Load()
}

// ChunkLen is the number of events per queue chunk.
const ChunkLen = chunkLen

// Inflight reports whether the pump holds an event it is sending to C.
func (mb *Mailbox) Inflight() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.inflight
}
