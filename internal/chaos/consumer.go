package chaos

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// MarkerSchema is the schema of a soak's own Marker events (see
// [MarkerEvent]); a [Consumer] records them as Marker items.
const MarkerSchema = "chaos-marker"

// MarkerEvent returns the Marker a consumer publishes on its private
// topic before its n-th subscription period (n >= 1): what it reads after
// the Marker was published after it.
func MarkerEvent(n int) pubsub.Event {
	return pubsub.Event{Kind: pubsub.TableChanged, Schema: MarkerSchema, Table: "marker", Operation: pubsub.Insert, RowID: strconv.Itoa(n)}
}

// Consumer reads one mailbox and records, in order, everything it reads
// for [Check], together with its subscription periods. The soak
// subscribes the mailbox and calls [Consumer.StartPeriod] and
// [Consumer.EndPeriod] around its subscriptions; [Consumer.Read] runs in
// a goroutine of its own until the mailbox is closed.
//
// Set the exported fields before Read. Every method is safe to call
// concurrently with Read.
type Consumer struct {
	Name   string
	MB     *pubsub.Mailbox
	Tables []string      // "schema.table" names the mailbox subscribes to; nil: every table
	Delay  time.Duration // slept per event read, to play a slow consumer
	Clock  *atomic.Int64 // the soak's logical clock (see Interval and Item)
	// StampResyncs gives each Resync the clock when it was read: the WAL
	// soaks bound what a Resync may cover by that (see Item.Clock).
	StampResyncs bool
	// Sabotage, when set, breaks delivery on purpose to prove the soak
	// catches it: for the n-th event read (from 1), drop makes the
	// consumer forget it, twice record it twice. Called from Read only.
	Sabotage func(ev pubsub.Event, n int) (drop, twice bool)

	done chan struct{}

	mu    sync.Mutex
	items []Item
	subs  []Interval
}

// NewConsumer returns a Consumer named name that reads mb and stamps its
// periods with clock.
func NewConsumer(name string, mb *pubsub.Mailbox, clock *atomic.Int64) *Consumer {
	return &Consumer{Name: name, MB: mb, Clock: clock, done: make(chan struct{})}
}

// StartPeriod opens a subscription period; call it once every Subscribe
// of the period has returned. It returns how many periods there were
// before this one.
func (c *Consumer) StartPeriod() int {
	from := c.Clock.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, Interval{From: from})
	return len(c.subs) - 1
}

// EndPeriod closes the current subscription period; call it before the
// first Unsubscribe.
func (c *Consumer) EndPeriod() {
	to := c.Clock.Add(1)
	c.mu.Lock()
	c.subs[len(c.subs)-1].To = to
	c.mu.Unlock()
}

// Periods returns how many subscription periods were started.
func (c *Consumer) Periods() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// Read records every event until the mailbox is closed, sleeping Delay
// per event. It closes Done when it returns.
func (c *Consumer) Read() {
	defer close(c.done)
	n := 0
	for ev := range c.MB.C() {
		n++
		var drop, twice bool
		if c.Sabotage != nil {
			drop, twice = c.Sabotage(ev, n)
		}
		if drop {
			continue
		}
		var it Item
		switch {
		case ev.Kind == pubsub.Resync:
			it = Item{Kind: Resync, Reason: ev.Reason}
			if c.StampResyncs {
				it.Clock = c.Clock.Add(1)
			}
		case ev.Schema == MarkerSchema:
			sub, _ := strconv.Atoi(ev.RowID)
			it = Item{Kind: Marker, Sub: sub}
		default:
			it = Item{Kind: Change, Payload: ev.String()}
		}
		c.mu.Lock()
		c.items = append(c.items, it)
		if twice {
			c.items = append(c.items, it)
		}
		c.mu.Unlock()
		if c.Delay > 0 {
			time.Sleep(c.Delay)
		}
	}
}

// Done is closed when Read has returned.
func (c *Consumer) Done() <-chan struct{} { return c.done }

// Seen reports whether every payload of want on the consumer's tables has
// been read since item index from, and whether a Resync was.
func (c *Consumer) Seen(from int, want []string) (all, resync bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]bool{}
	for _, it := range c.items[min(from, len(c.items)):] {
		switch it.Kind {
		case Change:
			got[it.Payload] = true
		case Resync:
			resync = true
		}
	}
	for _, p := range want {
		if c.Watches(TableOf(p)) && !got[p] {
			return false, resync
		}
	}
	return true, resync
}

// Watches reports whether the consumer receives table's changes.
func (c *Consumer) Watches(table string) bool {
	return c.Tables == nil || slices.Contains(c.Tables, table)
}

// ItemCount returns how many events were recorded so far.
func (c *Consumer) ItemCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Mailbox returns what the checker needs. Call it after Read has ended.
func (c *Consumer) Mailbox() Mailbox {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Mailbox{Name: c.Name, Tables: c.Tables, Subs: c.subs, Items: c.items}
}
