package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// fanoutSizes are the mailbox counts of section 3.
var fanoutSizes = []int{1, 100, 1000, 10000}

// fanoutBlock is how many events are published between two drains; below
// a mailbox's capacity (64), so nothing overflows.
const fanoutBlock = 32

// fanoutOnce publishes single changes through BroadcastChanges (the
// Listener's path) to size mailboxes subscribed to TopicAll for about
// budget of publishing time, draining the mailboxes between blocks off the
// clock. It returns ns and heap allocations per event.
func fanoutOnce(size int, budget time.Duration) (ns, allocs float64) {
	ps := pubsub.New(discard)
	mbs := make([]*pubsub.Mailbox, size)
	for i := range mbs {
		mbs[i] = pubsub.NewMailbox(pubsub.DefaultCapacity)
		_ = ps.Subscribe(mbs[i], pubsub.TopicAll())
	}
	defer func() {
		for _, mb := range mbs {
			mb.Close()
		}
	}()
	evs := []pubsub.Event{{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "UPDATE", RowID: "42"}}
	drain := func() {
		for _, mb := range mbs {
			for len(mb.C()) > 0 {
				<-mb.C()
			}
		}
	}
	for range fanoutBlock { // warm-up
		_ = ps.BroadcastChanges(evs)
	}
	drain()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var spent time.Duration
	events := 0
	for spent < budget {
		t := time.Now()
		for range fanoutBlock {
			_ = ps.BroadcastChanges(evs)
		}
		spent += time.Since(t)
		events += fanoutBlock
		drain()
	}
	runtime.ReadMemStats(&m1)
	return float64(spent.Nanoseconds()) / float64(events), float64(m1.Mallocs-m0.Mallocs) / float64(events)
}

// runFanout measures section 3 in process: sizes rotated within each
// repetition.
func runFanout(cfg config) []Row {
	ns := make(map[int][]float64)
	allocs := make(map[int][]float64)
	for rep := range cfg.reps {
		for i := range fanoutSizes {
			size := fanoutSizes[(i+rep)%len(fanoutSizes)]
			n, a := fanoutOnce(size, cfg.fanoutBudget)
			ns[size] = append(ns[size], n)
			allocs[size] = append(allocs[size], a)
		}
		progress("fan-out: rep %d/%d: %.0f ns/mailbox at 1000", rep+1, cfg.reps, last(ns[1000])/1000)
	}
	const sec, who = "3 fan-out", nameListener + " (PubSub)"
	var rows []Row
	for _, size := range fanoutSizes {
		rows = append(rows, sample(sec, fmt.Sprintf("time per event, %d mailboxes", size), who, "ns", ns[size]))
	}
	for _, size := range fanoutSizes {
		per := make([]float64, len(ns[size]))
		for i, v := range ns[size] {
			per[i] = v / float64(size)
		}
		r := sample(sec, fmt.Sprintf("time per mailbox, %d mailboxes", size), who, "ns", per)
		if size == 1000 {
			r.goal("under 300 ns", r.Median < 300)
		}
		rows = append(rows, r)
	}
	for _, size := range fanoutSizes {
		rows = append(rows, sample(sec, fmt.Sprintf("allocs per event, %d mailboxes", size), who, "allocs", allocs[size]))
	}
	for _, name := range []string{nameBare, namePgxlisten, namePq} {
		rows = append(rows, na(sec, "fan-out to mailboxes", name, "no fan-out: one consumer"))
	}
	return rows
}
