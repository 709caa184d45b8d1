//go:build chaos

package chaos_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// markerSchema marks the soak's own events on a consumer's private topic.
const markerSchema = "chaos-marker"

// consumer reads one mailbox and records everything it reads, in order,
// for the checker, together with its subscription periods.
type consumer struct {
	app    *app
	name   string
	mb     *pubsub.Mailbox
	tables []string // nil: TopicAll
	delay  time.Duration
	churn  bool
	marker string // private topic for Marker events
	clock  *atomic.Int64
	done   chan struct{}

	mu    sync.Mutex
	items []chaos.Item     // appended by read
	subs  []chaos.Interval // changed by subscribe and unsubscribe
}

func newConsumer(a *app, s mailboxSpec, clock *atomic.Int64) *consumer {
	name := a.name + "/" + s.kind
	return &consumer{
		app:    a,
		name:   name,
		mb:     pubsub.NewMailbox(s.capacity),
		tables: s.tables,
		delay:  s.delay,
		churn:  s.kind == "churn",
		marker: "chaos:marker:" + name,
		clock:  clock,
		done:   make(chan struct{}),
	}
}

// subscribe subscribes the mailbox to its topics and opens a subscription
// period that starts once every Subscribe has returned. A consumer that
// subscribes again first publishes a Marker on its private topic: what it
// reads after the Marker was published after it.
func (c *consumer) subscribe() error {
	c.mu.Lock()
	n := len(c.subs)
	c.mu.Unlock()
	if n == 0 {
		if err := c.app.ps.Subscribe(c.mb, c.marker); err != nil {
			return err
		}
	} else {
		ev := pubsub.Event{Kind: pubsub.TableChanged, Schema: markerSchema, Table: "marker", Operation: "INSERT", RowID: strconv.Itoa(n)}
		if err := c.app.ps.Broadcast(c.marker, ev); err != nil {
			return err
		}
	}
	if c.tables == nil {
		if err := c.app.src.SubscribeAll(c.mb); err != nil {
			return err
		}
	}
	for _, t := range c.tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := c.app.src.Subscribe(c.mb, schema, table); err != nil {
			return err
		}
	}
	from := c.clock.Add(1)
	c.mu.Lock()
	c.subs = append(c.subs, chaos.Interval{From: from})
	c.mu.Unlock()
	return nil
}

// unsubscribe closes the current subscription period, then unsubscribes.
func (c *consumer) unsubscribe() error {
	to := c.clock.Add(1)
	c.mu.Lock()
	c.subs[len(c.subs)-1].To = to
	c.mu.Unlock()
	if c.tables == nil {
		return c.app.src.UnsubscribeAll(c.mb)
	}
	for _, t := range c.tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := c.app.src.Unsubscribe(c.mb, schema, table); err != nil {
			return err
		}
	}
	return nil
}

// read records every event until the mailbox is closed, sleeping c.delay
// per event to play a slow consumer.
func (c *consumer) read() {
	defer close(c.done)
	n := 0
	dropNext := false // -chaos.sabotage=afterresync
	for ev := range c.mb.C() {
		n++
		if sabotaged(ev, n) {
			continue
		}
		if *sabotageFlag == "afterresync" {
			if ev.Kind == pubsub.Resync {
				dropNext = true
			} else if dropNext && ev.Schema != markerSchema {
				dropNext = false
				continue
			}
		}
		var it chaos.Item
		switch {
		case ev.Kind == pubsub.Resync:
			it = chaos.Item{Kind: chaos.Resync, Reason: ev.Reason}
			if c.app.w != nil {
				// The WAL soak bounds what a Resync may cover by when it
				// was read (see chaos.Item).
				it.Clock = c.clock.Add(1)
			}
		case ev.Schema == markerSchema:
			n, _ := strconv.Atoi(ev.RowID)
			it = chaos.Item{Kind: chaos.Marker, Sub: n}
		default:
			it = chaos.Item{Kind: chaos.Change, Payload: ev.String()}
		}
		c.mu.Lock()
		c.items = append(c.items, it)
		if *sabotageFlag == "dup" && it.Kind == chaos.Change && n%5000 == 0 {
			c.items = append(c.items, it)
		}
		c.mu.Unlock()
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
	}
}

// churn unsubscribes and subscribes again at random until stop is closed,
// and returns subscribed.
func (c *consumer) churnLoop(rng *rand.Rand, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-time.After(time.Duration(100+rng.IntN(500)) * time.Millisecond):
		}
		if err := c.unsubscribe(); err != nil {
			return fmt.Errorf("%s: unsubscribe: %w", c.name, err)
		}
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		if err := c.subscribe(); err != nil {
			return fmt.Errorf("%s: subscribe: %w", c.name, err)
		}
	}
}

// seen reports whether every payload of want on the consumer's tables has
// been read since item index from, and whether a Resync was.
func (c *consumer) seen(from int, want []string) (all, resync bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]bool{}
	for _, it := range c.items[min(from, len(c.items)):] {
		switch it.Kind {
		case chaos.Change:
			got[it.Payload] = true
		case chaos.Resync:
			resync = true
		}
	}
	for _, p := range want {
		if c.watches(tableOf(p)) && !got[p] {
			return false, resync
		}
	}
	return true, resync
}

// watches reports whether the consumer receives table's changes.
func (c *consumer) watches(table string) bool {
	if c.tables == nil {
		return true
	}
	for _, t := range c.tables {
		if t == table {
			return true
		}
	}
	return false
}

// itemCount returns how many events were read so far.
func (c *consumer) itemCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// mailbox returns what the checker needs. Call it after read has ended.
func (c *consumer) mailbox() chaos.Mailbox {
	c.mu.Lock()
	defer c.mu.Unlock()
	return chaos.Mailbox{Name: c.name, Tables: c.tables, Subs: c.subs, Items: c.items}
}

// sabotaged reports whether -chaos.sabotage makes the consumer lose the
// n-th event it reads, ev.
func sabotaged(ev pubsub.Event, n int) bool {
	switch *sabotageFlag {
	case "drop":
		return ev.Kind == pubsub.TableChanged && ev.Schema != markerSchema && n%5000 == 0
	case "noresync":
		return ev.Kind == pubsub.Resync
	}
	return false
}
