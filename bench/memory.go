package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// heapNow returns the live heap after a full collection.
func heapNow() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// mailboxHeap returns the heap per idle mailbox of capacity 64, per first
// subscription (TopicAll) and per second subscription (one table topic
// shared by all), over n mailboxes.
func mailboxHeap(n int) (perMailbox, perFirst, perSecond float64) {
	mbs := make([]*pubsub.Mailbox, n)
	ps := pubsub.New(discard)
	h0 := heapNow()
	for i := range mbs {
		mbs[i] = pubsub.NewMailbox(pubsub.DefaultCapacity)
	}
	h1 := heapNow()
	for _, mb := range mbs {
		_ = ps.Subscribe(mb, pubsub.TopicAll())
	}
	h2 := heapNow()
	for _, mb := range mbs {
		_ = ps.Subscribe(mb, pubsub.TopicTable("public", "users"))
	}
	h3 := heapNow()
	runtime.KeepAlive(ps)
	for _, mb := range mbs {
		mb.Close()
	}
	fn := float64(n)
	return (h1 - h0) / fn, (h2 - h1) / fn, (h3 - h2) / fn
}

// listenerHeap returns the heap held by a running Listener, its PubSub and
// n mailboxes subscribed to TopicAll, after a few bursts have gone through.
func listenerHeap(ctx context.Context, e *env, sender *pgx.Conn, n int) (float64, error) {
	h0 := heapNow()
	ps := pubsub.New(discard)
	l, err := listener.New(listener.Config{ConnString: e.url, PubSub: ps, Logger: discard})
	if err != nil {
		return 0, err
	}
	mbs := make([]*pubsub.Mailbox, n)
	for i := range mbs {
		mbs[i] = pubsub.NewMailbox(pubsub.DefaultCapacity)
		if err := l.SubscribeAll(mbs[i]); err != nil {
			return 0, err
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = l.Serve(sctx)
	}()
	defer func() {
		cancel()
		<-served
		for _, mb := range mbs {
			mb.Close()
		}
	}()
	// want reads k events from every mailbox, failing after a deadline.
	// Blocking receives: events beyond a channel's buffer reach it through
	// the mailbox's pump.
	want := func(k int) error {
		timeout := time.After(10 * time.Second)
		for i, mb := range mbs {
			for j := range k {
				select {
				case <-mb.C():
				case <-timeout:
					return fmt.Errorf("memory: mailbox %d got %d of %d events", i, j, k)
				}
			}
		}
		return nil
	}
	if err := want(1); err != nil { // the Resync of the first LISTEN
		return 0, err
	}
	for range 5 {
		if _, err := burst(ctx, sender, backlogBlock); err != nil {
			return 0, err
		}
		if err := want(backlogBlock); err != nil {
			return 0, err
		}
	}
	h := heapNow() - h0
	runtime.KeepAlive(l)
	return h, nil
}

// runMemory measures section 6.
func runMemory(ctx context.Context, e *env, cfg config) ([]Row, error) {
	sender, err := pgx.Connect(ctx, e.urlWithApp("bench-sender"))
	if err != nil {
		return nil, err
	}
	defer sender.Close(ctx)
	const n = 10000
	var mb, first, second, steady []float64
	for range cfg.reps {
		a, b, c := mailboxHeap(n)
		mb, first, second = append(mb, a), append(first, b), append(second, c)
		h, err := listenerHeap(ctx, e, sender, n)
		if err != nil {
			return nil, err
		}
		steady = append(steady, h)
	}
	progress("memory: %.0f B per mailbox, %.1f MiB steady with %d mailboxes", median(mb), median(steady)/(1<<20), n)
	const sec = "6 memory"
	idle := sample(sec, "heap per idle Mailbox (cap 64)", nameListener+" (PubSub)", "B", mb)
	idle.goal("at most 1 KiB", idle.Median <= 1024)
	all := make([]float64, len(mb))
	for i, v := range mb {
		all[i] = v * n
	}
	idleAll := sample(sec, fmt.Sprintf("heap of %d idle Mailboxes (cap 64)", n), nameListener+" (PubSub)", "B", all)
	idleAll.goal("at most 10 MiB", idleAll.Median <= 10<<20)
	rows := []Row{
		idle,
		idleAll,
		sample(sec, "heap per subscription (first topic)", nameListener+" (PubSub)", "B", first),
		sample(sec, "heap per subscription (second topic)", nameListener+" (PubSub)", "B", second),
		sample(sec, fmt.Sprintf("steady heap, Listener + %d mailboxes", n), nameListener, "B", steady),
	}
	for _, name := range []string{nameBare, namePgxlisten, namePq} {
		rows = append(rows, na(sec, "mailboxes", name, "no mailboxes"))
	}
	return rows, nil
}
