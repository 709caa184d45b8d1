//go:build chaos

package chaos_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// The soak's tables (see chaos.TableA).
const (
	tableA         = chaos.TableA
	tableB         = chaos.TableB
	tableS         = chaos.TableS
	walPublication = chaos.WALPublication
)

// consumer reads one mailbox and records everything it reads, in order,
// for the checker.
type consumer struct {
	in     *instance
	name   string
	mb     *pubsub.Mailbox
	tables []string // nil: every table
	delay  time.Duration
	clock  *atomic.Int64
	wal    bool
	done   chan struct{}

	mu    sync.Mutex
	items []chaos.Item
	subs  []chaos.Interval
}

func newConsumer(in *instance, s mailboxSpec, clock *atomic.Int64, wal bool) *consumer {
	return &consumer{
		in: in, name: in.name + "/" + s.kind, mb: pubsub.NewMailbox(s.capacity),
		tables: s.tables, delay: s.delay, clock: clock, wal: wal, done: make(chan struct{}),
	}
}

// subscribe subscribes the mailbox through db.Changes(), as host code
// does, and opens its subscription period once every Subscribe returned.
func (c *consumer) subscribe() error {
	changes := c.in.db.Changes()
	if c.tables == nil {
		if err := changes.SubscribeAll(c.mb); err != nil {
			return err
		}
	}
	for _, t := range c.tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := changes.Subscribe(c.mb, schema, table); err != nil {
			return err
		}
	}
	from := c.clock.Add(1)
	c.mu.Lock()
	c.subs = append(c.subs, chaos.Interval{From: from})
	c.mu.Unlock()
	return nil
}

// read records every event until the mailbox is closed, sleeping c.delay
// per event to play a slow consumer.
func (c *consumer) read() {
	defer close(c.done)
	n := 0
	for ev := range c.mb.C() {
		n++
		if *sabotageFlag == "drop" && ev.Kind == pubsub.TableChanged && n%2000 == 0 {
			continue
		}
		var it chaos.Item
		if ev.Kind == pubsub.Resync {
			it = chaos.Item{Kind: chaos.Resync, Reason: ev.Reason}
			if c.wal {
				// The WAL soak bounds what a Resync may cover by when it
				// was read (see chaos.Item).
				it.Clock = c.clock.Add(1)
			}
		} else {
			it = chaos.Item{Kind: chaos.Change, Payload: ev.String()}
		}
		c.mu.Lock()
		c.items = append(c.items, it)
		if *sabotageFlag == "dup" && it.Kind == chaos.Change && n%2000 == 0 {
			c.items = append(c.items, it)
		}
		c.mu.Unlock()
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
	}
}

// seen reports whether every payload of want on the consumer's tables has
// been read since item index from.
func (c *consumer) seen(from int, want []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]bool{}
	for _, it := range c.items[min(from, len(c.items)):] {
		if it.Kind == chaos.Change {
			got[it.Payload] = true
		}
	}
	for _, p := range want {
		if c.watches(chaos.TableOf(p)) && !got[p] {
			return false
		}
	}
	return true
}

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
