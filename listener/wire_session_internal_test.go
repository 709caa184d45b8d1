package listener

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// fakeBackend is the server end of a pipe: it reads frontend messages and
// answers them with scripted bytes.
type fakeBackend struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// recv returns the next frontend message: its type and, for a Query, the SQL.
func (b *fakeBackend) recv() (byte, string, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(b.r, hdr[:]); err != nil {
		return 0, "", err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
	if _, err := io.ReadFull(b.r, body); err != nil {
		return 0, "", err
	}
	return hdr[0], strings.TrimSuffix(string(body), "\x00"), nil
}

func (b *fakeBackend) send(msgs ...[]byte) {
	var all []byte
	for _, m := range msgs {
		all = append(all, m...)
	}
	// One write: the client reads it as one packet.
	_, _ = b.conn.Write(all)
}

// wireSetup runs serveConn against a fakeBackend whose handle func answers
// each frontend message; it returns a mailbox subscribed to every change
// and the channel serveConn's error arrives on.
func wireSetup(t *testing.T, cfg Config, handle func(b *fakeBackend, l *Listener, typ byte, sql string)) (*Listener, *pubsub.Mailbox, context.CancelFunc, chan error) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.PubSub = pubsub.New(quiet)
	cfg.Logger = quiet
	cfg.ConnString = "postgres://localhost/x"
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(64)
	t.Cleanup(mb.Close)
	if err := l.SubscribeAll(mb); err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	b := &fakeBackend{t: t, conn: server, r: bufio.NewReader(server)}
	backendDone := make(chan struct{})
	go func() {
		defer close(backendDone)
		defer server.Close()
		for {
			typ, sql, err := b.recv()
			if err != nil {
				return
			}
			handle(b, l, typ, sql)
		}
	}()
	d := newDispatcher(l.ps, &l.published)
	go d.run()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.serveConn(ctx, client, 1, d) }()
	t.Cleanup(func() {
		cancel()
		<-backendDone
		d.close()
		<-d.done
	})
	return l, mb, cancel, errc
}

// listenReply answers LISTEN with notifications in the same packet, one
// before ReadyForQuery and one after it.
func listenReply(b *fakeBackend, l *Listener, typ byte, sql string) {
	if typ == 'Q' && strings.Contains(sql, "LISTEN ") {
		b.send(wireCommand("LISTEN"), wireCommand("LISTEN"),
			wireNotify(9, l.cfg.Channel, "public.t:INSERT:1"), wireReady(),
			wireNotify(9, l.cfg.Channel, "public.t:INSERT:2"))
	}
}

func nextEvent(t *testing.T, mb *pubsub.Mailbox) pubsub.Event {
	t.Helper()
	select {
	case ev := <-mb.C():
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return pubsub.Event{}
}

// Notifications that arrive in the same packet as LISTEN's reply, even
// before its ReadyForQuery, are delivered after the Resync; shutdown sends
// UNLISTEN, waits for its reply, then Terminate.
func TestWireSessionListenReplyAndShutdown(t *testing.T) {
	seen := make(chan string, 8)
	l, mb, cancel, errc := wireSetup(t, Config{}, func(b *fakeBackend, l *Listener, typ byte, sql string) {
		seen <- string(typ) + " " + sql
		switch {
		case strings.Contains(sql, "LISTEN "):
			listenReply(b, l, typ, sql)
		case sql == "UNLISTEN *":
			b.send(wireCommand("UNLISTEN"), wireReady())
		}
	})
	if ev := nextEvent(t, mb); ev.Kind != pubsub.Resync {
		t.Fatalf("first event %v, want a Resync", ev)
	}
	for _, want := range []string{"1", "2"} {
		if ev := nextEvent(t, mb); ev.Kind != pubsub.TableChanged || ev.RowID != want {
			t.Fatalf("got %v, want change %s", ev, want)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("serveConn = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("serveConn did not return within 1s")
	}
	var got []string
	for range 3 {
		select {
		case m := <-seen:
			got = append(got, m)
		case <-time.After(time.Second):
		}
	}
	want := `Q ` + sessionSettings(l.cfg.ProbeInterval) + `LISTEN "phoenix_kit_db_changes"; LISTEN "` + l.probeChannel + `"|Q UNLISTEN *|X `
	if strings.Join(got, "|") != want {
		t.Fatalf("backend saw %q, want %q", strings.Join(got, "|"), want)
	}
}

// A FATAL error (pg_terminate_backend) ends the session with the server's
// *pgconn.PgError.
func TestWireSessionServerError(t *testing.T) {
	_, mb, _, errc := wireSetup(t, Config{}, func(b *fakeBackend, l *Listener, typ byte, sql string) {
		listenReply(b, l, typ, sql)
		b.send(terminated())
	})
	err := <-errc
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Fatalf("serveConn = %v, want SQLSTATE 57P01", err)
	}
	if ev := nextEvent(t, mb); ev.Kind != pubsub.Resync {
		t.Fatalf("first event %v", ev)
	}
}

// Probes are answered like a server does (the notification, then
// CommandComplete and ReadyForQuery); an error reply to one ends the
// session, and so does silence within ProbeInterval.
func TestWireSessionProbes(t *testing.T) {
	const probe = 60 * time.Millisecond
	answer := func(failAt int) func(b *fakeBackend, l *Listener, typ byte, sql string) {
		n := 0
		return func(b *fakeBackend, l *Listener, typ byte, sql string) {
			switch {
			case strings.Contains(sql, "LISTEN "):
				listenReply(b, l, typ, sql)
			case strings.HasPrefix(sql, "NOTIFY"):
				n++
				switch {
				case n == failAt:
					b.send(wireError("S", "ERROR", "C", "53200", "M", "out of memory"), wireReady())
				case failAt < 0 && n >= -failAt: // silence
				default:
					b.send(wireNotify(1, l.probeChannel, "x"), wireCommand("NOTIFY"), wireReady())
				}
			}
		}
	}
	t.Run("error reply", func(t *testing.T) {
		l, _, _, errc := wireSetup(t, Config{ProbeInterval: probe}, answer(3))
		err := <-errc
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "53200" || l.Stats().Probes != 3 {
			t.Fatalf("serveConn = %v after %d probes", err, l.Stats().Probes)
		}
	})
	t.Run("silence", func(t *testing.T) {
		l, _, _, errc := wireSetup(t, Config{ProbeInterval: probe}, answer(-2))
		var err error
		select {
		case err = <-errc:
		case <-time.After(40 * probe):
			t.Fatal("the unanswered probe was not noticed")
		}
		if !errors.Is(err, errProbeLost) || l.Stats().Probes != 2 {
			t.Fatalf("serveConn = %v after %d probes", err, l.Stats().Probes)
		}
	})
}
