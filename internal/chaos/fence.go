package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FenceAll commits the fence (see CommitFence) and waits until every
// consumer has read it, up to 20 s. If a source reconnected meanwhile the
// fence may be lost (with a Resync), so it tries three times and logs who
// missed it; the checker has the last word either way. timeout bounds
// each commit.
func FenceAll(t testing.TB, dbURL string, clock *atomic.Int64, cs []*Consumer, timeout time.Duration) {
	t.Helper()
	for round := range 3 {
		marks := map[*Consumer]int{}
		for _, c := range cs {
			marks[c] = c.ItemCount()
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		fence, err := CommitFence(ctx, dbURL, clock)
		cancel()
		if err != nil {
			t.Errorf("fence: %v", err)
			continue
		}
		if WaitFor(20*time.Second, func() bool {
			for c, from := range marks {
				if all, _ := c.Seen(from, fence); !all {
					return false
				}
			}
			return true
		}) {
			return
		}
		var missing []string
		for _, c := range cs {
			if all, resync := c.Seen(marks[c], fence); !all {
				missing = append(missing, fmt.Sprintf("%s (resync since: %v)", c.Name, resync))
			}
		}
		t.Logf("fence round %d not read by %s", round, strings.Join(missing, ", "))
	}
}
