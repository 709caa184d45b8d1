package pubsub_test

import (
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPubSub(t *testing.T) *pubsub.PubSub {
	t.Helper()
	return pubsub.New(quietLogger())
}

func change(table string, op pubsub.Operation, id string) pubsub.Event {
	return pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: table, Operation: op, RowID: id}
}

// recv reads one event or fails the test after a deadline.
func recv(t *testing.T, mb *pubsub.Mailbox) pubsub.Event {
	t.Helper()
	select {
	case ev, ok := <-mb.C():
		if !ok {
			t.Fatal("mailbox closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return pubsub.Event{}
}

// drain returns everything mb holds right now: what C has buffered and
// what waits in the mailbox's queue behind it, which the mailbox's pump
// hands to C a moment later (Mailbox.Len counts both).
func drain(mb *pubsub.Mailbox) []pubsub.Event {
	var out []pubsub.Event
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case ev, ok := <-mb.C():
			if !ok {
				return out
			}
			out = append(out, ev)
			continue
		default:
		}
		if mb.Len() == 0 || time.Now().After(deadline) {
			return out
		}
		// The pump is handing the next event to C: let it run.
		runtime.Gosched()
	}
}

func subscribe(t *testing.T, ps *pubsub.PubSub, mb *pubsub.Mailbox, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		if err := ps.Subscribe(mb, topic); err != nil {
			t.Fatalf("Subscribe(%q): %v", topic, err)
		}
	}
}
