package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nameBareLatency names the JetStream baseline of section 8's latency
// rows: what the machine gives k consumers in one process at the same
// rate, without PostgreSQL, decoding or PubSub.
func nameBareLatency(k int) string {
	return fmt.Sprintf("bare JetStream, %d ordered consumers (no PostgreSQL)", k)
}

// bareLatBody is the size of a bare latency message: about a format 3
// body of one single-row NOTIFY change of the section's table.
const bareLatBody = 96

// bareLatency is the latency baseline beside a cluster group of k
// instances: a stream of its own, one publishing connection that sends
// each message with a message id and the previous one's id as the
// expected last id (as the relay does), and k ordered consumers, each on
// its own connection and pulling as the module's follower does (4,096
// messages, half of the default FollowerBufferBytes), that record when
// each message arrived.
type bareLatency struct {
	pub    *nats.Conn
	js     jetstream.JetStream
	name   string
	subj   string
	cons   []*bareLatConsumer
	wg     sync.WaitGroup
	cancel context.CancelFunc
	prev   string
	next   int // index of the next message, over every round
}

// bareLatConsumer is one consumer of bareLatency: it records the arrival
// of message i (by the index its body carries) in at[i-base].
type bareLatConsumer struct {
	mu   sync.Mutex
	base int
	at   []int64
	got  int
	done chan struct{} // closed when got reaches len(at)
	err  error
}

func openBareLatency(ctx context.Context, ce *clusterEnv, k int) (*bareLatency, error) {
	b := &bareLatency{name: "BENCH_BARELAT_N" + strconv.Itoa(k), subj: "barelat" + strconv.Itoa(k)}
	var err error
	if b.pub, err = nats.Connect(ce.ns.ClientURL()); err != nil {
		return nil, err
	}
	if b.js, err = jetstream.New(b.pub, jetstream.WithPublishAsyncMaxPending(8192)); err != nil {
		b.pub.Close()
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := b.js.CreateStream(sctx, jetstream.StreamConfig{
		Name: b.name, Subjects: []string{b.subj + ".>"}, Storage: jetstream.FileStorage,
		MaxAge: time.Hour, Duplicates: 5 * time.Minute,
	})
	if err != nil {
		b.pub.Close()
		return nil, err
	}
	cctx, stop := context.WithCancel(context.Background())
	b.cancel = stop
	ready := make(chan error, k)
	for range k {
		c := &bareLatConsumer{done: make(chan struct{})}
		close(c.done) // nothing armed yet
		b.cons = append(b.cons, c)
		b.wg.Go(func() { c.run(cctx, ce.ns.ClientURL(), stream, ready) })
	}
	var errs []error
	for range k {
		errs = append(errs, <-ready)
	}
	if err := errors.Join(errs...); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// run consumes the stream from its start until ctx ends; it reports on
// ready once it consumes (or could not).
func (c *bareLatConsumer) run(ctx context.Context, url string, stream jetstream.Stream, ready chan<- error) {
	nc, err := nats.Connect(url)
	if err != nil {
		ready <- err
		return
	}
	defer nc.Close()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		ready <- err
		return
	}
	it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(4096, 4<<20))
	ready <- err
	if err != nil {
		return
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		d := m.Data()
		if len(d) < 8 {
			continue
		}
		i := int(binary.BigEndian.Uint64(d))
		c.mu.Lock()
		if j := i - c.base; j >= 0 && j < len(c.at) && c.at[j] == 0 {
			c.at[j] = now
			if c.got++; c.got == len(c.at) {
				close(c.done)
			}
		}
		c.mu.Unlock()
	}
}

// round publishes a message for each moment of at, at the same offsets
// from the first (a cluster round's commits: the same pace, which a
// loaded machine makes slower than asked), and returns the latencies, in
// µs, of every message at every consumer.
func (b *bareLatency) round(ctx context.Context, at []int64) ([]float64, error) {
	k := len(at)
	base := b.next
	for _, c := range b.cons {
		c.mu.Lock()
		c.base, c.at, c.got, c.done = base, make([]int64, k), 0, make(chan struct{})
		c.mu.Unlock()
	}
	sent := make([]int64, k)
	body := make([]byte, bareLatBody)
	subject := b.subj + ".public." + clusterTable
	start := time.Now()
	for i := range k {
		// Pacing, as writeRound's.
		time.Sleep(time.Until(start.Add(time.Duration(at[i] - at[0]))))
		n := base + i
		binary.BigEndian.PutUint64(body, uint64(n))
		id := "bare:" + strconv.Itoa(n)
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(id)}
		if b.prev != "" {
			opts = append(opts, jetstream.WithExpectLastMsgID(b.prev))
		}
		sent[i] = time.Now().UnixNano()
		// A fresh body each time: the client may still hold the last one.
		if _, err := b.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: append([]byte(nil), body...)}, opts...); err != nil {
			return nil, err
		}
		b.prev = id
	}
	b.next += k
	deadline := time.After(60 * time.Second)
	var out []float64
	for i, c := range b.cons {
		select {
		case <-c.done:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			return nil, fmt.Errorf("consumer %d got %d of %d", i, c.got, k)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		out = append(out, latencies(sent, c.at)...)
		c.mu.Unlock()
	}
	return out, nil
}

func (b *bareLatency) close() {
	b.cancel()
	b.wg.Wait()
	_ = b.js.DeleteStream(context.Background(), b.name)
	b.pub.Close()
}
