package shapehttp

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// cursorEpoch is the origin of live cursors (Electric counts from
// 2024-10-09); any fixed instant would do.
var cursorEpoch = time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)

// nextCursor returns the electric-cursor of a live response: the end of
// the current long-poll interval in seconds since cursorEpoch, so that
// live requests of one interval share a URL a cache can collapse, and the
// next interval's requests get a new one. When that equals the cursor the
// client sent (its previous response came in the same interval), a random
// 1 to 3600 seconds is added so the client's next URL is new and no cache
// answers it with the response it already has.
func nextCursor(now time.Time, interval time.Duration, prev string) string {
	sec := int64(interval / time.Second)
	if sec < 1 {
		sec = 1
	}
	since := int64(now.Sub(cursorEpoch) / time.Second)
	next := (since/sec + 1) * sec
	if strconv.FormatInt(next, 10) == prev {
		next += 1 + rand.Int64N(3600)
	}
	return strconv.FormatInt(next, 10)
}
