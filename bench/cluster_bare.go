package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nameBareJS names section 8's JetStream baseline.
func nameBareJS(n int) string { return fmt.Sprintf("bare JetStream, %d consumers (no PostgreSQL)", n) }

// bareRound is the JetStream ceiling the cluster path runs under: on the
// same embedded server, one connection publishes n messages of size bytes
// (what the module's messages of a burst took on average), with a message id and an expected last message id
// each as the module's relay sends them, at most 4096 awaiting their
// acknowledgement, into a file-storage stream of its own, and k ordered
// consumers, each on its own connection, read them all. It returns
// messages/s per consumer from the first publish until every consumer
// had the last message. No PostgreSQL, no decoding, no PubSub.
func (ce *clusterEnv) bareRound(ctx context.Context, round, n, k, size int) (float64, error) {
	body := make([]byte, max(size, 1))
	url := ce.ns.ClientURL()
	pub, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer pub.Close()
	js, err := jetstream.New(pub, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		return 0, err
	}
	name := "BENCH_BARE" + strconv.Itoa(round)
	subj := "bare" + strconv.Itoa(round)
	// As long as the cluster's own rounds may take (group.wait): 100,000
	// single-change messages to 10 consumers took over 30 s at a load
	// average of 25 on 2 cores.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stream, err := js.CreateStream(sctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{subj + ".>"}, Storage: jetstream.FileStorage,
		MaxAge: time.Hour, Duplicates: 5 * time.Minute,
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()

	var wg sync.WaitGroup
	errc := make(chan error, k)
	ready := make(chan struct{}, k)
	for range k {
		wg.Go(func() {
			errc <- bareConsume(sctx, url, stream, n, ready)
		})
	}
	for range k {
		select {
		case <-ready:
		case <-sctx.Done():
			return 0, sctx.Err()
		}
	}
	t0 := time.Now()
	subject := subj + ".public.cluster_bench"
	var futs []jetstream.PubAckFuture
	prev := ""
	for i := range n {
		if len(futs) == 4096 {
			select {
			case <-futs[0].Ok():
			case err := <-futs[0].Err():
				return 0, err
			case <-sctx.Done():
				return 0, sctx.Err()
			}
			futs = futs[1:]
		}
		id := "bench:1:" + strconv.Itoa(i)
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(id)}
		if prev != "" {
			opts = append(opts, jetstream.WithExpectLastMsgID(prev))
		}
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: body}, opts...)
		if err != nil {
			return 0, err
		}
		futs = append(futs, f)
		prev = id
	}
	wg.Wait()
	took := time.Since(t0)
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(n) / took.Seconds(), nil
}

// bareConsume reads n messages of stream with an ordered consumer on a
// connection of its own, as the module's follower does; it signals ready
// once it consumes.
func bareConsume(ctx context.Context, url string, stream jetstream.Stream, n int, ready chan<- struct{}) error {
	nc, err := nats.Connect(url)
	if err != nil {
		ready <- struct{}{}
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		ready <- struct{}{}
		return err
	}
	s, err := js.Stream(ctx, stream.CachedInfo().Config.Name)
	if err != nil {
		ready <- struct{}{}
		return err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		ready <- struct{}{}
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	ready <- struct{}{}
	if err != nil {
		return err
	}
	defer it.Stop()
	// A failed round returns before its consumers are done: its context's
	// end stops them (Stop is idempotent).
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for i := 0; i < n; i++ {
		m, err := it.Next()
		if err != nil {
			return err
		}
		if _, err := m.Metadata(); err != nil { // as a consumer reads its position
			return err
		}
	}
	return nil
}
