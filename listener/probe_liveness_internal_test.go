package listener

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A probe whose echo never comes does not end a session that keeps
// receiving notifications: traffic proves the connection alive, as when
// the echo waits behind a big transaction's notifications. Once the
// traffic stops, the unanswered probe ends the session as before.
func TestTrafficCountsAsLiveness(t *testing.T) {
	const probe = 200 * time.Millisecond
	const traffic = 8 * probe
	probed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	stopTraffic := make(chan struct{})
	l, _, _, errc := wireSetup(t, Config{ProbeInterval: probe}, func(b *fakeBackend, l *Listener, typ byte, sql string) {
		switch {
		case strings.Contains(sql, "LISTEN "):
			listenReply(b, l, typ, sql)
		case strings.HasPrefix(sql, "NOTIFY"):
			// Never answered. The first probe starts the traffic.
			once.Do(func() {
				close(probed)
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(probe / 10)
					defer tick.Stop()
					end := time.After(traffic)
					for i := 0; ; i++ {
						select {
						case <-tick.C:
							b.send(wireNotify(9, l.cfg.Channel, "public.t:INSERT:"+strconv.Itoa(i)))
						case <-end:
							return
						case <-stopTraffic:
							return
						}
					}
				}()
			})
		}
	})
	defer wg.Wait()
	defer close(stopTraffic)

	select {
	case <-probed:
	case err := <-errc:
		t.Fatalf("serveConn = %v before the first probe", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no probe sent")
	}
	start := time.Now()
	select {
	case err := <-errc:
		t.Fatalf("serveConn = %v after %v of traffic with a probe outstanding; traffic must count as liveness",
			err, time.Since(start).Round(time.Millisecond))
	case <-time.After(traffic):
	}
	select {
	case err := <-errc:
		if !errors.Is(err, errProbeLost) {
			t.Fatalf("serveConn = %v, want errProbeLost", err)
		}
	case <-time.After(20 * probe):
		t.Fatal("the unanswered probe was not noticed once the traffic stopped")
	}
	if n := l.Stats().Probes; n != 1 {
		t.Errorf("Probes = %d, want 1: an outstanding probe is not repeated", n)
	}
}
