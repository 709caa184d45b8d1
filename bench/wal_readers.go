package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Reader names of section 7, in report order.
const (
	nameBareRepl  = "bare pglogrepl"
	nameSource    = "Source (PubSub)"
	nameSourceAck = "Source, ack mailbox"
	// nameSourceNoPause is the Source with Config.BatchDelay off.
	nameSourceNoPause = "Source, BatchDelay off"
	nameWALListen     = "NOTIFY Listener"
	nameNoSource      = "no source"
	nameWithSource    = "Source running"
	nameWithBare      = "bare pglogrepl running"
	nameWithNotify    = "row trigger + Listener"
	// nameSourceToBare is the Source running again, its ratio to the bare
	// loop running instead of to no source.
	nameSourceToBare = "Source running, ratio to bare"
)

// mailboxReader is a change source (a replication.Source or a
// listener.Listener) publishing to a PubSub with one mailbox subscribed to
// everything, read by a consumer goroutine that calls on for every INSERT
// (and, for a mailbox made pubsub.WithAck, then acknowledges every event).
type mailboxReader struct {
	mb       *pubsub.Mailbox
	cancel   context.CancelFunc
	served   chan struct{}
	consumed chan struct{}
}

// startMailboxReader subscribes a mailbox of capacity cap made with opts
// through subscribe, starts serve and the consumer, and returns once
// ready says changes flow (ready gets the consumer's first Resync
// reasons).
func startMailboxReader(capacity int, subscribe func(*pubsub.Mailbox) error,
	serve func(context.Context) error, on func(*pubsub.Event), ready func(resync <-chan string) error,
	opts ...pubsub.MailboxOption) (*mailboxReader, error) {
	r := &mailboxReader{mb: pubsub.NewMailbox(capacity, opts...)}
	if err := subscribe(r.mb); err != nil {
		return nil, err
	}
	resyncs := make(chan string, 16)
	r.consumed = make(chan struct{})
	ack := r.mb.AckMode()
	go func() {
		defer close(r.consumed)
		// One Event for the whole loop: on takes its address, so a loop
		// variable would escape to the heap once per event and charge the
		// readers' allocation rows with the consumer's.
		var ev pubsub.Event
		for ev = range r.mb.C() {
			switch {
			case ev.Kind == pubsub.TableChanged && ev.Operation == "INSERT":
				on(&ev)
			case ev.Kind == pubsub.Resync:
				select {
				case resyncs <- string(ev.Reason):
				default:
				}
			}
			if ack {
				// Processed as soon as on returned: acknowledge it, which
				// also acknowledges everything before it.
				_ = r.mb.Ack(ev)
			}
		}
	}()
	sctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.served = cancel, make(chan struct{})
	go func() {
		defer close(r.served)
		_ = serve(sctx)
	}()
	if err := ready(resyncs); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *mailboxReader) stop() {
	r.cancel()
	<-r.served
	r.mb.Close()
	<-r.consumed
}

// startSource runs a replication.Source on a temporary slot of its own, so
// that nothing is retained between measurements; batchDelay is its
// Config.BatchDelay (0: the default). opts make its mailbox
// (pubsub.WithAck for acknowledged delivery).
func startSource(ctx context.Context, dbURL, slot, publication string, capacity int, batchDelay time.Duration,
	on func(*pubsub.Event), opts ...pubsub.MailboxOption) (*mailboxReader, error) {
	src, err := replication.New(replication.Config{
		ConnString:  withApp(dbURL, "bench-source"),
		Slot:        slot,
		Publication: publication,
		Temporary:   true,
		BatchDelay:  batchDelay,
		PubSub:      pubsub.New(discard),
		Logger:      discard,
	})
	if err != nil {
		return nil, err
	}
	return startMailboxReader(capacity, src.SubscribeAll, src.Serve, on, func(<-chan string) error {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return src.WaitReady(wctx)
	}, opts...)
}

// startNotifyListener runs a listener.Listener on the default channel.
func startNotifyListener(dbURL string, capacity int, on func(*pubsub.Event)) (*mailboxReader, error) {
	l, err := listener.New(listener.Config{ConnString: dbURL, PubSub: pubsub.New(discard), Logger: discard})
	if err != nil {
		return nil, err
	}
	return startMailboxReader(capacity, l.SubscribeAll, l.Serve, on, func(resyncs <-chan string) error {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case r := <-resyncs:
				if r == string(pubsub.ReasonListen) {
					return nil
				}
			case <-timeout:
				return errors.New("the Listener did not start listening within 10 s")
			}
		}
	})
}

// bareRepl is the physical limit of the WAL path: one replication
// connection on a temporary slot, pglogrepl parsing every XLogData message
// and counting INSERTs in the reading goroutine. No value is decoded, no
// event built, nothing handed on.
type bareRepl struct {
	conn   *pgconn.PgConn
	cancel context.CancelFunc
	done   chan struct{}
}

func startBareRepl(ctx context.Context, dbURL, slot, publication string, s *sink) (*bareRepl, error) {
	cfg, err := pgconn.ParseConfig(withApp(dbURL, "bench-bare-repl"))
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication})
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("create slot: %w", err)
	}
	start, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	// publication is a fixed lower-case name of this program.
	err = pglogrepl.StartReplication(ctx, conn, slot, start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + publication + "'"}})
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("start replication: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	b := &bareRepl{conn: conn, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		// The loop ends with an error when stop cancels it; a failure
		// before that shows as the sink's time-out.
		_ = b.loop(lctx, s, start)
	}()
	return b, nil
}

// loop receives until ctx ends, answering keepalives that ask for a reply
// with the last position received, as any client must.
func (b *bareRepl) loop(ctx context.Context, s *sink, pos pglogrepl.LSN) error {
	for {
		msg, err := b.conn.ReceiveMessage(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				k, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return err
				}
				if k.ReplyRequested {
					if err := pglogrepl.SendStandbyStatusUpdate(ctx, b.conn,
						pglogrepl.StandbyStatusUpdate{WALWritePosition: pos}); err != nil {
						return err
					}
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return err
				}
				lm, err := pglogrepl.Parse(x.WALData)
				if err != nil {
					return err
				}
				if _, ok := lm.(*pglogrepl.InsertMessage); ok {
					s.hit()
				}
				pos = x.WALStart + pglogrepl.LSN(len(x.WALData))
			}
		}
	}
}

func (b *bareRepl) stop() {
	b.cancel()
	<-b.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.conn.Close(ctx)
}
