//go:build chaos

package chaos_test

import (
	"strings"
	"sync/atomic"

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

// consumer is one of an instance's mailboxes, recorded by
// chaos.Consumer, subscribed through the instance's db.Changes().
type consumer struct {
	*chaos.Consumer
	in *instance
}

func newConsumer(in *instance, s mailboxSpec, clock *atomic.Int64, wal bool) *consumer {
	c := &consumer{Consumer: chaos.NewConsumer(in.name+"/"+s.kind, pubsub.NewMailbox(s.capacity), clock), in: in}
	c.Tables, c.Delay = s.tables, s.delay
	// The WAL soak bounds what a Resync may cover by when it was read.
	c.StampResyncs = wal
	c.Sabotage = sabotage()
	return c
}

// subscribe subscribes the mailbox through db.Changes(), as host code
// does, and opens its subscription period once every Subscribe returned.
func (c *consumer) subscribe() error {
	changes := c.in.db.Changes()
	if c.Tables == nil {
		if err := changes.SubscribeAll(c.MB); err != nil {
			return err
		}
	}
	for _, t := range c.Tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := changes.Subscribe(c.MB, schema, table); err != nil {
			return err
		}
	}
	c.StartPeriod()
	return nil
}

// sabotage returns the consumers' Sabotage for -chaos.sabotage (nil:
// none): drop or dup one change in 2000 a consumer reads.
func sabotage() func(ev pubsub.Event, n int) (drop, twice bool) {
	switch *sabotageFlag {
	case "drop":
		return func(ev pubsub.Event, n int) (bool, bool) { return ev.Kind == pubsub.TableChanged && n%2000 == 0, false }
	case "dup":
		return func(ev pubsub.Event, n int) (bool, bool) { return false, ev.Kind != pubsub.Resync && n%2000 == 0 }
	}
	return nil
}
