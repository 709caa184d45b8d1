package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// fanoutSizes are the mailbox counts of section 3.
var fanoutSizes = []int{1, 100, 1000, 10000}

// Consumers are modelled by how many events are published between two
// drains (off the clock). liveBlock fits in the 5-event buffer of a
// mailbox's channel: a consumer that keeps up with live traffic, the case
// of the goals. backlogBlock is the block of earlier runs: a consumer 32
// events behind, whose mailbox queues 27 events behind its channel and
// runs its pump goroutine once per block. Both are below a mailbox's
// capacity (64), so nothing overflows.
const (
	liveBlock    = 4
	backlogBlock = 32
)

// fanoutOnce publishes single changes through BroadcastChanges (the
// Listener's path) to size mailboxes subscribed to TopicAll for about
// budget of publishing time, block events at a time, draining the
// mailboxes between blocks off the clock. It returns ns and heap
// allocations per event.
func fanoutOnce(size, block int, budget time.Duration) (ns, allocs float64) {
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
	// Blocking receives of exactly what was published: events beyond the
	// channel's buffer reach it through the mailbox's pump.
	drain := func() {
		for _, mb := range mbs {
			for range block {
				<-mb.C()
			}
		}
	}
	for range 2 { // warm-up: chunks and scheduler in their steady state
		for range block {
			_ = ps.BroadcastChanges(evs)
		}
		drain()
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var spent time.Duration
	events := 0
	for spent < budget {
		t := time.Now()
		for range block {
			_ = ps.BroadcastChanges(evs)
		}
		spent += time.Since(t)
		events += block
		drain()
	}
	runtime.ReadMemStats(&m1)
	return float64(spent.Nanoseconds()) / float64(events), float64(m1.Mallocs-m0.Mallocs) / float64(events)
}

// runFanout measures section 3 in process: sizes rotated within each
// repetition, both consumer models in each.
func runFanout(cfg config) []Row {
	type key struct{ size, block int }
	ns := make(map[key][]float64)
	allocs := make(map[key][]float64)
	for rep := range cfg.reps {
		for i := range fanoutSizes {
			size := fanoutSizes[(i+rep)%len(fanoutSizes)]
			for _, block := range []int{liveBlock, backlogBlock} {
				n, a := fanoutOnce(size, block, cfg.fanoutBudget)
				k := key{size, block}
				ns[k] = append(ns[k], n)
				allocs[k] = append(allocs[k], a)
			}
		}
		progress("fan-out: rep %d/%d: %.0f ns/mailbox at 1000 (keeping up), %.0f ns (32 behind)", rep+1, cfg.reps,
			last(ns[key{1000, liveBlock}])/1000, last(ns[key{1000, backlogBlock}])/1000)
	}
	const sec, who = "3 fan-out", nameListener + " (PubSub)"
	var rows []Row
	for _, block := range []int{liveBlock, backlogBlock} {
		model := "consumers keep up"
		if block == backlogBlock {
			model = "consumers 32 behind"
		}
		for _, size := range fanoutSizes {
			rows = append(rows, sample(sec, fmt.Sprintf("time per event, %d mailboxes, %s", size, model), who, "ns", ns[key{size, block}]))
		}
		for _, size := range fanoutSizes {
			k := key{size, block}
			per := make([]float64, len(ns[k]))
			for i, v := range ns[k] {
				per[i] = v / float64(size)
			}
			r := sample(sec, fmt.Sprintf("time per mailbox, %d mailboxes, %s", size, model), who, "ns", per)
			if block == liveBlock {
				switch size {
				case 1:
					r.goal("at most 150 ns", r.Median <= 150)
				case 1000:
					r.goal("at most 40 ns", r.Median <= 40)
				case 10000:
					r.goal("at most 60 ns", r.Median <= 60)
				}
			}
			rows = append(rows, r)
		}
		for _, size := range fanoutSizes {
			r := sample(sec, fmt.Sprintf("allocs per event, %d mailboxes, %s", size, model), who, "allocs", allocs[key{size, block}])
			if block == liveBlock {
				r.goal("zero", r.Median == 0)
			}
			rows = append(rows, r)
		}
	}
	rows = append(rows, runFanoutBatches(cfg)...)
	for _, name := range []string{nameBare, namePgxlisten, namePq} {
		rows = append(rows, na(sec, "fan-out to mailboxes", name, "no fan-out: one consumer"))
	}
	return rows
}
