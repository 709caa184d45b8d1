package cluster_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// bigBatchBody is a format 3 batch of n row-less INSERTs into
// public.items of the transaction committed at lsn, each with a row id
// of idLen bytes that starts with "<lsn>-<seq>-".
func bigBatchBody(lsn uint64, n, idLen int) []byte {
	b := []byte{0x04, 1, 0, 6, 'p', 'u', 'b', 'l', 'i', 'c', 5, 'i', 't', 'e', 'm', 's'}
	b = binary.AppendUvarint(b, lsn)
	b = append(b, 0) // Xid
	b = binary.AppendUvarint(b, uint64(n))
	for s := 1; s <= n; s++ {
		b = append(b, 0, 6, 'I', 'N', 'S', 'E', 'R', 'T')
		id := fmt.Sprintf("%d-%d-", lsn, s)
		id += strings.Repeat("x", idLen-len(id))
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, 1) // Seq step
	}
	return b
}

// A follower far behind a stream of large batches has at most
// Config.FollowerBufferBytes of them on their way to it: while it is
// held (the server's messages to it wait, as they would for a follower
// too busy to read), the server sends it what its pull asked for and
// keeps the rest, well under the stream's backlog. Released, it hands
// every change over once, in order.
func TestFollowerPullBoundedByBytes(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	// A small max_payload keeps the smallest bound (twice max_payload
	// plus 64 KiB) small, so a few MB of backlog exceed it many times.
	ns := startNATSWith(t, server.Options{MaxPayload: 128 << 10})
	url, _ := notifyDB(t)
	const bound = 512 << 10
	// The hold below also holds the leader's lease refreshes (the instance
	// leads too): a lease of a minute keeps its term through the hold,
	// which the default second's 3/5 did not on a loaded machine (a new
	// term's LISTEN Resync then came after the changes).
	in := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{FollowerBufferBytes: bound, LeaseTTL: time.Minute}, mbCap: 1 << 16})
	waitReady(t, in)

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
	stream, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	last := func() uint64 {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	poll(t, "the follower to be caught up", func() bool { return in.cl.Stats().Position == last() })

	resyncs := in.cl.Stats().Resyncs

	// 40 messages of about 60 KiB: 2.4 MB, almost five times the bound.
	const msgs, perMsg, idLen = 40, 60, 1000
	in.sw.Hold()
	for i := range msgs {
		if _, err := js.Publish(ctx, cluster.DefaultSubject+".public.items", bigBatchBody(uint64(1000+i), perMsg, idLen)); err != nil {
			t.Fatal(err)
		}
	}
	// The server sends what the pull asked for, then holds the rest until
	// the follower asks again, which it cannot while held.
	var ci *jetstream.ConsumerInfo
	poll(t, "the server to have sent what it would", func() bool {
		names := stream.ConsumerNames(ctx)
		var consumers []string
		for n := range names.Name() {
			consumers = append(consumers, n)
		}
		if len(consumers) != 1 {
			t.Fatalf("consumers %v, want the follower's ordered consumer alone", consumers)
		}
		c, err := stream.Consumer(ctx, consumers[0])
		if err != nil {
			t.Fatal(err)
		}
		if ci, err = c.Info(ctx); err != nil {
			t.Fatal(err)
		}
		return ci.NumWaiting == 0 || ci.NumPending == 0
	})
	pos := in.cl.Stats().Position
	sent := 0
	for seq := pos + 1; seq <= ci.Delivered.Stream; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		sent += len(m.Data)
		for k, vs := range m.Header {
			for _, v := range vs {
				sent += len(k) + len(v) + 4
			}
		}
	}
	t.Logf("held: %d messages (%d bytes) sent to the follower past its position, %d kept by the server; bound %d",
		ci.Delivered.Stream-pos, sent, ci.NumPending, bound)
	if sent > bound || ci.NumPending == 0 {
		in.sw.Release()
		t.Fatalf("%d bytes (%d messages) on their way to a follower bounded at %d; %d left in the stream",
			sent, ci.Delivered.Stream-pos, bound, ci.NumPending)
	}
	in.sw.Release()

	// Nothing lost or repeated: every change once, in order.
	for i := range msgs {
		for s := 1; s <= perMsg; s++ {
			ev := next(t, in.mb)
			for i == 0 && s == 1 && ev.Kind == pubsub.Resync { // the start's, the leader's LISTEN
				ev = next(t, in.mb)
			}
			want := fmt.Sprintf("%d-%d-", 1000+i, s)
			if ev.Kind != pubsub.TableChanged || !strings.HasPrefix(ev.RowID, want) || len(ev.RowID) != idLen {
				t.Fatalf("change %d of message %d: got %v, want row id %s…", s, i, ev, want)
			}
		}
	}
	if st := in.cl.Stats(); st.Position != last() || st.Resyncs != resyncs {
		t.Fatalf("position %d of %d, %d Resyncs after the start's %d", st.Position, last(), st.Resyncs, resyncs)
	}
	select {
	case ev := <-in.mb.C():
		t.Fatalf("an extra event: %v", ev)
	default:
	}
}
