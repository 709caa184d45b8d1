package listener

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// BenchmarkPipeline times the Listener's whole client-side path for a
// burst of notifications, without a server: a fake backend on a loopback
// TCP socket writes 100,000 NotificationResponses at once, and the clock
// stops when a consumer has read the last of them from a mailbox
// subscribed to TopicAll (as section 1 of `make bench` does). It isolates
// what the Listener costs per event (wire reader, parsing, hand-off to the
// dispatcher, PubSub, mailbox, consumer) from PostgreSQL's own work.
func BenchmarkPipeline(b *testing.B) {
	const burst = 100_000
	for _, shape := range []struct{ name, row string }{{"int-ids", ""}, {"uuid-ids", "uuid"}} {
		b.Run(shape.name, func(b *testing.B) {
			var wire []byte
			for i := range burst {
				id := strconv.Itoa(i)
				if shape.row == "uuid" {
					id = "0193a7c2-5b1e-7d2a-9f3c-" + strings.Repeat("0", 12-len(id)) + id
				}
				wire = append(wire, wireNotify(7, DefaultChannel, "public.bench:INSERT:"+id)...)
			}
			runPipeline(b, burst, wire)
		})
	}
}

func runPipeline(b *testing.B, burst int, wire []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	quiet := slog.New(slog.DiscardHandler)
	ps := pubsub.New(quiet)
	l, err := New(Config{
		PubSub: ps, Logger: quiet, ProbeInterval: time.Hour,
		Connect: func(context.Context) (*pgx.Conn, error) { return nil, errors.New("no server") },
	})
	if err != nil {
		b.Fatal(err)
	}
	mb := pubsub.NewMailbox(burst + 64)
	if err := l.SubscribeAll(mb); err != nil {
		b.Fatal(err)
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	// The backend answers LISTEN, then sends a burst whenever asked.
	bursts := make(chan struct{})
	backendDone := make(chan struct{})
	go func() {
		defer close(backendDone)
		defer server.Close()
		fb := &fakeBackend{conn: server, r: bufio.NewReader(server)}
		go func() {
			for range bursts {
				_, _ = server.Write(wire)
			}
		}()
		for {
			typ, sql, err := fb.recv()
			if err != nil {
				return
			}
			switch {
			case typ == 'Q' && strings.Contains(sql, "LISTEN "):
				fb.send(wireCommand("LISTEN"), wireCommand("LISTEN"), wireReady())
			case typ == 'Q':
				fb.send(wireCommand("OK"), wireReady())
			}
		}
	}()
	d := newDispatcher(ps, &l.published)
	d.inline = inlineMailboxes // as Serve does
	go d.run()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.serveConn(ctx, client, 1, d) }()

	got := make(chan struct{})
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		n := 0
		for ev := range mb.C() {
			if ev.Kind != pubsub.TableChanged {
				continue
			}
			if n++; n == burst {
				got <- struct{}{}
				n = 0
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		bursts <- struct{}{}
		<-got
	}
	// CPU time of the whole process, the fake backend's writes included:
	// less sensitive than wall time to other work on the machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(burst*b.N), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(burst*b.N), "ns/event")
	b.ReportMetric(0, "ns/op")
	b.StopTimer()
	close(bursts)
	cancel()
	<-errc
	<-backendDone
	d.close()
	<-d.done
	mb.Close()
	<-counted
}

// cpuTime returns the user and system CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
