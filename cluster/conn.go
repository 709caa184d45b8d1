package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// leaseKey is the key of the leader lease in the lease bucket.
	leaseKey = "leader"
	// setupTimeout bounds one stream or bucket setup call.
	setupTimeout = 5 * time.Second
	// retryMin and retryMax bound the delay between setup attempts.
	retryMin, retryMax = 50 * time.Millisecond, 2 * time.Second
)

// connect opens a NATS connection named name. Its error never quotes the
// URL, which may carry credentials. forced options come after
// Config.NATSOptions: correctness depends on them.
func (c *Cluster) connect(name string, forced ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	// The client's default asynchronous error handler writes to stderr:
	// route its errors (a slow consumer, a permission violation) through
	// the module's logger. An ErrorHandler in NATSOptions wins.
	errs := nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		c.log.Warn("cluster: NATS client error", "connection", name, "subject", subject, "err", err)
	})
	opts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), errs}, c.cfg.NATSOptions...)
	opts = append(opts, forced...)
	nc, err := nats.Connect(c.cfg.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	return nc, js, nil
}

// streamConfig is the stream every instance creates or updates to.
func (c *Cluster) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.cfg.Stream,
		Description: "phoenixkitdb changes",
		Subjects:    []string{c.cfg.Subject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.cfg.MaxAge,
		Duplicates:  c.cfg.Duplicates,
		Replicas:    c.cfg.Replicas,
		Storage:     jetstream.FileStorage,
	}
}

// ensureStream creates or updates the stream.
func (c *Cluster) ensureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	s, err := js.CreateOrUpdateStream(ctx, c.streamConfig())
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %q: %w", c.cfg.Stream, err)
	}
	return s, nil
}

// ensureLease creates or updates the lease bucket. One revision of history
// is enough: the lease is compared and swapped by revision.
func (c *Cluster) ensureLease(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      c.cfg.Stream + "_LEADER",
		Description: "phoenixkitdb leader lease",
		History:     1,
		Replicas:    c.cfg.Replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket: %w", err)
	}
	return kv, nil
}

// retry calls fn until it succeeds or ctx ends, with exponential delays
// between attempts; it logs each failure as a WARN naming what.
func (c *Cluster) retry(ctx context.Context, what string, fn func() error) error {
	delay := retryMin
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("cluster: "+what+" failed; retrying", "retry_in", delay, "err", err)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		delay = min(delay*2, retryMax)
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
