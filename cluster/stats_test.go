package cluster_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
)

// streamLastSeq reads the default stream's last sequence from the server.
func streamLastSeq(t *testing.T, ns *server.Server) uint64 {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// Stats name the leader on every instance and show each follower's
// stream position, the stream's last sequence as the follower saw it, and
// the lag between them; a follower that was stopped and resumes catches
// up to the stream's real last sequence with no lag left.
func TestStatsLeaderStreamLastAndLag(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	leader, follower, run := twoInstances(t, ns, cluster.Config{})
	for i, in := range []*instance{leader, follower} {
		poll(t, "the leader's id in Stats", func() bool { return in.cl.Stats().Leader == leader.cl.ID() })
		if st := in.cl.Stats(); !st.Connected || st.Lag != 0 || st.StreamLast != st.Position || st.StreamLast == 0 {
			t.Fatalf("instance %d: Stats %+v, want connected, no lag, StreamLast = Position > 0", i, st)
		}
	}
	if follower.cl.Stats().Leader == follower.cl.ID() {
		t.Fatal("the follower names itself leader")
	}

	// The follower stops; the stream moves on without it.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := follower.reg.DisableContext(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	before := follower.cl.Stats()
	if before.Connected {
		t.Fatal("a stopped follower reports connected")
	}
	for i := range 10 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 10), nil)
	last := streamLastSeq(t, ns)
	// The leader may batch changes it finds queued together: at least
	// one message more.
	if last <= before.Position {
		t.Fatalf("stream last %d, follower stopped at %d: want more", last, before.Position)
	}
	if got := leader.cl.Stats(); got.StreamLast != last || got.Position != last || got.Lag != 0 {
		t.Fatalf("leader Stats %+v, stream last %d", got, last)
	}

	// Back, it resumes and catches up: StreamLast is the server's.
	if err := follower.reg.Enable("db"); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, []*instance{follower}, inserts(0, 10), nil)
	poll(t, "the follower to catch up", func() bool { return follower.cl.Stats().Position == last })
	if st := follower.cl.Stats(); st.StreamLast != last || st.Lag != 0 {
		t.Fatalf("resumed follower Stats %+v, stream last %d", st, last)
	}

	// New messages move StreamLast with them on every follower.
	run(`INSERT INTO items VALUES (100, 'x')`)
	expectChanges(t, []*instance{leader, follower}, []string{"public.items:INSERT:100"}, nil)
	last = streamLastSeq(t, ns)
	for i, in := range []*instance{leader, follower} {
		poll(t, "StreamLast to follow the stream", func() bool {
			st := in.cl.Stats()
			return st.StreamLast == last && st.Position == last && st.Lag == 0
		})
		if st := in.cl.Stats(); st.Terms == 0 && in == leader {
			t.Fatalf("instance %d: leader Stats %+v count no term", i, st)
		}
	}
	if leader.cl.Stats().Published == 0 {
		t.Fatal("the leader published nothing")
	}
}

// holdHandler holds every log call whose message contains hold until
// release is closed, telling held when the first one arrives.
type holdHandler struct {
	slog.Handler
	hold    string
	held    chan struct{}
	once    *sync.Once
	release chan struct{}
}

func (h holdHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.hold) {
		h.once.Do(func() { close(h.held) })
		<-h.release
	}
	return h.Handler.Handle(ctx, r)
}

func (h holdHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(as)
	return h
}

func (h holdHandler) WithGroup(name string) slog.Handler {
	h.Handler = h.Handler.WithGroup(name)
	return h
}

// While a follower has not handed a message over yet, Stats show it
// behind: StreamLast (the message's sequence plus what the consumer still
// has pending) is past Position, and Lag is the difference. The follower
// is held at a known point: its warning about messages that aged out
// while it was away, logged before it hands the first message it can
// still read to its PubSub.
func TestStatsLagWhileBehind(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	cfg := cluster.Config{MaxAge: time.Second}
	hold := holdHandler{hold: "expired", held: make(chan struct{}), once: &sync.Once{}, release: make(chan struct{})}
	var released sync.Once
	release := func() { released.Do(func() { close(hold.release) }) }
	t.Cleanup(release)
	leader := newInstance(t, ns, url, instanceOpts{cluster: cfg})
	waitReady(t, leader)
	follower := newInstance(t, ns, url, instanceOpts{cluster: cfg, wrapLog: func(h slog.Handler) slog.Handler {
		hold.Handler = h
		return hold
	}})
	waitReady(t, follower)
	if !leader.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	run(`INSERT INTO items VALUES (-1, 'x')`)
	expectChangesAnyResyncs(t, []*instance{leader, follower}, []string{"public.items:INSERT:-1"})

	follower.sw.Cut()
	poll(t, "the follower to notice", func() bool { return !follower.cl.Stats().Connected })
	for i := range 5 {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(0, 5), nil)
	waitStreamEmpty(t, ns)
	away := follower.cl.Stats().Position
	follower.sw.Restore()
	for i := 5; i < 8; i++ {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChanges(t, []*instance{leader}, inserts(5, 8), nil)
	last := leader.cl.Stats().Position
	select {
	case <-hold.held:
	case <-time.After(waitFor):
		t.Fatal("the follower never warned about aged-out messages")
	}
	// The warning is logged when the gap is found (at reconnection), by
	// the goroutine that checks the stream, while the consumer may go on
	// reading: the position is anywhere from where it was to the end, and
	// the lag is what separates it from the stream's last message.
	// The five changes made while it was away take one to five stream
	// messages (the leader batches what its relay holds at once).
	st := follower.cl.Stats()
	if st.Position < away || st.Position > st.StreamLast || st.StreamLast < away+1 || st.StreamLast > last || st.Lag != st.StreamLast-st.Position {
		t.Fatalf("held follower Stats %+v; want Position in [%d, StreamLast], StreamLast in [%d, %d], Lag = StreamLast - Position", st, away, away+1, last)
	}
	release()
	poll(t, "the follower to catch up", func() bool {
		st := follower.cl.Stats()
		return st.Position == last && st.Lag == 0
	})
}
