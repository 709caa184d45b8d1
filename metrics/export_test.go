package metrics

import "time"

// SetSlotReadMaxAge sets how long the slot readings of t's WAL sources
// are reused, so that a test can scrape the server's values at once.
func SetSlotReadMaxAge(t Target, d time.Duration) {
	for _, s := range t.sources {
		if r, ok := s.(*replicationSource); ok {
			r.reader.maxAge = d
		}
	}
}
