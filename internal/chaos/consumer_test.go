//go:build chaos

package chaos_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// consumer is one of an app's mailboxes, recorded by chaos.Consumer, with
// the soak's own subscription churn: it subscribes through the app's
// source, and publishes a Marker on a private topic each time it
// subscribes again.
type consumer struct {
	*chaos.Consumer
	app    *app
	churn  bool
	marker string // private topic for Marker events
}

func newConsumer(a *app, s mailboxSpec, clock *atomic.Int64) *consumer {
	name := a.name + "/" + s.kind
	c := &consumer{
		Consumer: chaos.NewConsumer(name, pubsub.NewMailbox(s.capacity), clock),
		app:      a,
		churn:    s.kind == "churn",
		marker:   "chaos:marker:" + name,
	}
	c.Tables, c.Delay = s.tables, s.delay
	// The WAL soak bounds what a Resync may cover by when it was read.
	c.StampResyncs = a.w != nil
	c.Sabotage = sabotage()
	return c
}

// subscribe subscribes the mailbox to its topics and opens a subscription
// period that starts once every Subscribe has returned. A consumer that
// subscribes again first publishes a Marker on its private topic: what it
// reads after the Marker was published after it.
func (c *consumer) subscribe() error {
	if n := c.Periods(); n == 0 {
		if err := c.app.ps.Subscribe(c.MB, c.marker); err != nil {
			return err
		}
	} else if err := c.app.ps.Broadcast(c.marker, chaos.MarkerEvent(n)); err != nil {
		return err
	}
	if c.Tables == nil {
		if err := c.app.src.SubscribeAll(c.MB); err != nil {
			return err
		}
	}
	for _, t := range c.Tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := c.app.src.Subscribe(c.MB, schema, table); err != nil {
			return err
		}
	}
	c.StartPeriod()
	return nil
}

// unsubscribe closes the current subscription period, then unsubscribes.
func (c *consumer) unsubscribe() error {
	c.EndPeriod()
	if c.Tables == nil {
		return c.app.src.UnsubscribeAll(c.MB)
	}
	for _, t := range c.Tables {
		schema, table, _ := strings.Cut(t, ".")
		if err := c.app.src.Unsubscribe(c.MB, schema, table); err != nil {
			return err
		}
	}
	return nil
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
			return fmt.Errorf("%s: unsubscribe: %w", c.Name, err)
		}
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		if err := c.subscribe(); err != nil {
			return fmt.Errorf("%s: subscribe: %w", c.Name, err)
		}
	}
}

// sabotage returns the consumers' Sabotage for -chaos.sabotage (nil:
// none). drop and dup hit one change in 5000 a consumer reads; noresync
// drops every Resync; afterresync the first change after each Resync.
func sabotage() func(ev pubsub.Event, n int) (drop, twice bool) {
	change := func(ev pubsub.Event) bool { return ev.Kind != pubsub.Resync && ev.Schema != chaos.MarkerSchema }
	switch *sabotageFlag {
	case "drop":
		return func(ev pubsub.Event, n int) (bool, bool) {
			return ev.Kind == pubsub.TableChanged && ev.Schema != chaos.MarkerSchema && n%5000 == 0, false
		}
	case "dup":
		return func(ev pubsub.Event, n int) (bool, bool) { return false, change(ev) && n%5000 == 0 }
	case "noresync":
		return func(ev pubsub.Event, _ int) (bool, bool) { return ev.Kind == pubsub.Resync, false }
	case "afterresync":
		dropNext := false // one consumer's: Read calls it from one goroutine
		return func(ev pubsub.Event, _ int) (bool, bool) {
			if ev.Kind == pubsub.Resync {
				dropNext = true
			} else if dropNext && ev.Schema != chaos.MarkerSchema {
				dropNext = false
				return true, false
			}
			return false, false
		}
	}
	return nil
}
