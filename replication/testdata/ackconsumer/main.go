// Command ackconsumer is a WAL consumer the replication tests run as a
// child process, to SIGKILL it: it streams a slot into one mailbox and
// prints, for every change it processed, a line
//
//	E <lsn> <seq> <id> <commit unix nanoseconds>
//
// before acknowledging it (with -ack), so that every change acknowledged
// was printed. It prints "R <reason>" for a Resync and "READY" once the
// Source streams. Its log goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

func main() {
	url := flag.String("url", "", "database connection string")
	slot := flag.String("slot", "", "replication slot")
	ack := flag.Bool("ack", false, "acknowledge each change after printing it (pubsub.WithAck)")
	capacity := flag.Int("capacity", 1<<16, "mailbox capacity")
	delay := flag.Duration("delay", 0, "time spent processing each change")
	status := flag.Duration("status", 0, "Config.StatusInterval (0: the default)")
	flag.Parse()
	if err := run(*url, *slot, *ack, *capacity, *delay, *status); err != nil {
		fmt.Fprintln(os.Stderr, "ackconsumer:", err)
		os.Exit(1)
	}
}

func run(url, slot string, ack bool, capacity int, delay, status time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ps := pubsub.New(log)
	src, err := replication.New(replication.Config{ConnString: url, Slot: slot, PubSub: ps, Logger: log, StatusInterval: status})
	if err != nil {
		return err
	}
	opts := []pubsub.MailboxOption{pubsub.WithName("ackconsumer")}
	if ack {
		opts = append(opts, pubsub.WithAck())
	}
	mb := pubsub.NewMailbox(capacity, opts...)
	defer mb.Close()
	if err := src.SubscribeAll(mb); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- src.Serve(ctx) }()
	if err := src.WaitReady(ctx); err != nil {
		return err
	}
	fmt.Println("READY")
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case err := <-done:
			return err
		case ev := <-mb.C():
			if ev.Kind == pubsub.Resync {
				fmt.Println("R", ev.Reason)
				continue
			}
			time.Sleep(delay)
			id, _ := ev.New.Text("id")
			// One write per line: the parent has it even if this process
			// is killed right after.
			fmt.Printf("E %d %d %s %d\n", ev.LSN, ev.Seq, id, ev.CommitTime.UnixNano())
			if ack {
				if err := mb.Ack(ev); err != nil {
					return err
				}
			}
		}
	}
}
