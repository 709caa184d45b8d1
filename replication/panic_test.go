package replication_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// A Source that panics in the middle of a transaction is restarted by
// its supervisor and goes on exactly once: what it handed over before the
// panic is skipped when the transaction comes again.
func TestPanicRestartedBySupervisorExactlyOnce(t *testing.T) {
	b := setup(t, options{noServe: true})
	var changes atomic.Int64
	panicked := make(chan struct{})
	replication.SetChangeHook(b.src, func() {
		// Past the first chunk of the second transaction: part of it is
		// handed over already.
		if changes.Add(1) == 2000+700 {
			close(panicked)
			panic("test: a bug in the Source")
		}
	})
	sup := suture.New("test", suture.Spec{
		FailureBackoff:    time.Millisecond,
		Timeout:           5 * time.Second,
		PassThroughPanics: false,
		EventHook:         func(suture.Event) {},
	})
	sup.Add(b.src)
	ctx, cancel := context.WithCancel(context.Background())
	errc := sup.ServeBackground(ctx)
	t.Cleanup(func() {
		cancel()
		<-errc
	})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	insert(t, conn, 1, 4000, 2000)
	select {
	case <-panicked:
	case <-time.After(60 * time.Second):
		t.Fatal("no panic")
	}
	c := &collector{t: t, next: 1}
	c.take(b.mb, 4000, 60*time.Second)
	insert(t, conn, 4001, 4010, 1)
	c.take(b.mb, 4010, 30*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Resyncs != 1 || st.Published != 4010 {
		t.Fatalf("stats: %+v", st)
	}
}
