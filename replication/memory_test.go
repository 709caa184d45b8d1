package replication_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A 250,000-row transaction flows through in chunks: the heap in use
// grows by less than 24 MiB while it is delivered. Held whole until its
// commit, its events grew the heap by 145 MiB; in chunks, by 3 MiB, as
// with 1,000,000 rows, which the server spills to disk to decode and
// which took fifty times as long under the race detector.
func TestLargeTransactionBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a 250,000-row transaction takes a while")
	}
	const rows = 250_000
	const bound = 24 << 20
	b := setup(t, options{capacity: 1024})
	conn := connect(t, b.url)
	exec(t, conn, `CREATE TABLE big (id int)`, `ALTER PUBLICATION phoenixkitdb ADD TABLE big`)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)

	// A reader that keeps up as well as it can; overflow is allowed.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-b.mb.C():
			case <-done:
				return
			}
		}
	}()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var mu sync.Mutex
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				mu.Lock()
				peak = max(peak, ms.HeapInuse)
				mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	began := time.Now()
	exec(t, conn, `INSERT INTO big SELECT g FROM generate_series(1, `+itoa(rows)+`) g`)
	committed := time.Now()
	eventually(t, 10*time.Minute, "the transaction published", func() bool { return b.src.Stats().Published >= rows })
	// For the record only (no assertion): from the commit to the last
	// event, which includes the server decoding the transaction.
	t.Logf("insert %v; commit to last event %v (%.0f rows/s)", committed.Sub(began).Round(time.Millisecond),
		time.Since(committed).Round(time.Millisecond), rows/time.Since(committed).Seconds())
	close(done)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	growth := int64(peak) - int64(base)
	t.Logf("heap in use: base %d MiB, peak %d MiB, growth %d MiB", base>>20, peak>>20, growth>>20)
	if growth >= bound {
		t.Fatalf("heap grew by %d MiB, want < %d MiB", growth>>20, bound>>20)
	}
	if st := b.src.Stats(); st.Published != rows {
		t.Fatalf("stats: %+v", st)
	}
}
