package listener

import (
	"sync"
	"time"
)

// maxLoggedPayload is how much of an invalid payload a log line shows.
const maxLoggedPayload = 120

// rateLimited allows one event per interval and counts the suppressed ones.
type rateLimited struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

// allow reports whether to log now and how many were suppressed before.
func (r *rateLimited) allow(now time.Time) (bool, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	r.last = now
	n := r.suppressed
	r.suppressed = 0
	return true, n
}

func (l *Listener) logInvalid(payload string, err error) {
	ok, suppressed := l.invalid.allow(l.cfg.Now())
	if !ok {
		return
	}
	shown := payload
	if len(shown) > maxLoggedPayload {
		shown = shown[:maxLoggedPayload] + "…"
	}
	l.log.Warn("listener: ignoring invalid notification payload",
		"payload", shown, "bytes", len(payload), "err", err,
		"suppressed_since_last", suppressed, "invalid_total", l.invalids.Load())
}
