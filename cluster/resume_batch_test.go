package cluster_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// batchBody writes, as docs/cluster.md describes format 3, a batch of
// row-less INSERTs into public.items of the transaction committed at
// lsn, with Seq from..to and row ids "<lsn>-<seq>".
func batchBody(lsn, from, to uint64) []byte {
	b := []byte{0x04, 1, 0, 6, 'p', 'u', 'b', 'l', 'i', 'c', 5, 'i', 't', 'e', 'm', 's'}
	b = binary.AppendUvarint(b, lsn)
	b = append(b, 0) // Xid
	b = binary.AppendUvarint(b, to-from+1)
	prev := uint64(0)
	for s := from; s <= to; s++ {
		b = append(b, 0, 6, 'I', 'N', 'S', 'E', 'R', 'T')
		id := fmt.Sprintf("%d-%d", lsn, s)
		b = append(b, byte(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, s-prev)
		prev = s
	}
	return b
}

// A stream holding a transaction's changes twice, cut into messages
// differently (what a new leader replaying from the slot publishes after
// the old one stored part of it: message ids end at a message's last
// change, so only a message ending where a stored one ended is dropped),
// reaches every follower once per change: the one that read on and the
// one that resumed after the first message. A Resync starts positions
// afresh: a change after it is delivered even if its position is not
// past the last one's.
func TestFollowerResumingMidBatchGetsEachChangeOnce(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	dbURL, _ := walDB(t)
	a := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	b := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL})
	waitReady(t, a, b)
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	subject := cluster.DefaultSubject + ".public.items"
	publish := func(body []byte) {
		t.Helper()
		if _, err := js.Publish(ctx, subject, body); err != nil {
			t.Fatal(err)
		}
	}
	read := func(in *instance, n int) []string {
		t.Helper()
		var got []string
		for len(got) < n {
			ev := next(t, in.mb)
			if ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonStart {
				continue
			}
			if ev.Kind == pubsub.Resync {
				got = append(got, ev.String())
				continue
			}
			got = append(got, ev.RowID)
		}
		return got
	}
	publish(batchBody(100, 1, 3))
	for _, in := range []*instance{a, b} {
		if got := strings.Join(read(in, 3), ","); got != "100-1,100-2,100-3" {
			t.Fatalf("got %s", got)
		}
	}
	b.sw.Cut()
	poll(t, "b's follower to notice", func() bool { return !b.cl.Stats().Connected })
	publish(batchBody(100, 1, 5)) // the replay, cut elsewhere
	publish(batchBody(100, 6, 6))
	publish(batchBody(99, 1, 2)) // before the last one: handed over
	publish(batchBody(200, 1, 2))
	publish([]byte{0x04, 2, 6, 's', 'e', 'r', 'v', 'e', 'r'}) // a Resync: positions start afresh
	publish(batchBody(50, 1, 1))
	b.sw.Restore()
	want := "100-4,100-5,100-6,200-1,200-2,Resync(server),50-1"
	for i, in := range []*instance{a, b} {
		if got := strings.Join(read(in, 7), ","); got != want {
			t.Fatalf("instance %d got %s, want %s", i, got, want)
		}
	}
	// Nothing more came before the next message.
	publish(batchBody(300, 1, 1))
	for i, in := range []*instance{a, b} {
		if got := strings.Join(read(in, 1), ","); got != "300-1" {
			t.Fatalf("instance %d got %s, want 300-1", i, got)
		}
	}
}
