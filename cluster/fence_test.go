package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// pubWatch sees, on a connection of its own, every message published on
// the module's subjects and every reply on _INBOX.>, in the order the
// server sent them.
type pubWatch struct {
	ch chan *nats.Msg
}

func watchPublishes(t *testing.T, ns *server.Server) *pubWatch {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w := &pubWatch{ch: make(chan *nats.Msg, 65536)}
	for _, subj := range []string{cluster.DefaultSubject + ".>", "_INBOX.>"} {
		if _, err := nc.ChanSubscribe(subj, w.ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// answerTo waits for the first message published with a Nats-Msg-Id
// starting with idPrefix and returns JetStream's answer to it. The answer
// may reach the watch before the message it answers: the server hands a
// published message to the stream (which answers from a goroutine of its
// own) and to other subscribers in turn, so replies seen before the
// message are kept.
func (w *pubWatch) answerTo(t *testing.T, idPrefix string) (published *nats.Msg, answer []byte) {
	t.Helper()
	replies := map[string][]byte{}
	deadline := time.After(waitFor)
	for {
		select {
		case m := <-w.ch:
			switch {
			case strings.HasPrefix(m.Subject, "_INBOX."):
				if published != nil && m.Subject == published.Reply {
					return published, m.Data
				}
				replies[m.Subject] = m.Data
			case published == nil && strings.HasPrefix(m.Header.Get(jetstream.MsgIDHeader), idPrefix):
				published = m
				if a, ok := replies[m.Reply]; ok {
					return published, a
				}
			}
		case <-deadline:
			if published != nil {
				t.Fatalf("the publish %s (reply to %s) was not answered", published.Header.Get(jetstream.MsgIDHeader), published.Reply)
			}
			t.Fatalf("no publish with id %s* seen", idPrefix)
		}
	}
}

// A leader that stalls (its process not scheduled: nothing it sends
// leaves, nothing reaches it) past its lease, with a change handed to its
// relay, and resumes after the next leader began its term and published:
// its publish must be refused, and the change never reaches followers
// after the new leader's. Without an expected last sequence on the first
// message of a run, JetStream stored it after the new leader's changes.
// Either the stalled leader's own clock ended its term while it was
// frozen (its relay is gone when the publish is answered), or it still
// leads when it resumes, and its relay's refused publish ends the term.
//
// The test decides what happens when, instead of racing clocks: the
// other instance takes over when the test deletes the lease (both have
// leases too long to expire meanwhile), and the stalled leader's relay
// has every earlier message acknowledged before it is frozen, so that
// its next one starts a run. Its clock ends its term (LeaseTTL 10 s: 6 s
// after its last refresh, long after its publish is queued) before it
// resumes in the first case, and cannot (a minute) in the second.
// Waiting-bound, with a NATS server and database of each case's own: the
// cases run in parallel with each other and with the package's other
// parallel tests.
func TestStalledLeaderPublishRefused(t *testing.T) {
	t.Parallel()
	t.Run("term ended by its clock", func(t *testing.T) { t.Parallel(); testStalledLeader(t, 10*time.Second, true) })
	t.Run("relay still running", func(t *testing.T) { t.Parallel(); testStalledLeader(t, time.Minute, false) })
}

func testStalledLeader(t *testing.T, staleTTL time.Duration, endedByClock bool) {
	// The server keeps the frozen client however long it is frozen (by
	// default it drops a client it cannot write to for 10 s).
	ns := startNATSWith(t, server.Options{WriteDeadline: 2 * waitFor})
	url, run := notifyDB(t)
	a := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: staleTTL}})
	waitReady(t, a)
	if !a.cl.Leading() {
		t.Fatal("the first instance does not lead")
	}
	b := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{LeaseTTL: time.Minute}})
	waitReady(t, a, b)
	run(`INSERT INTO items VALUES (-1, 'x')`)
	expectChangesAnyResyncs(t, []*instance{a, b}, []string{"public.items:INSERT:-1"})
	// Every message of the leader's (one event each) is acknowledged:
	// its next one starts a run, which expects the stream's last sequence.
	stored := streamLastSeq(t, ns)
	poll(t, "the leader's acknowledgements", func() bool { return a.cl.Stats().Published >= stored })
	w := watchPublishes(t, ns)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stalled leader: %+v\n%s\nnew leader: %+v %+v\n%s", a.cl.Stats(), a.logs, b.cl.Stats(), b.cl.Source().(*listener.Listener).Stats(), b.logs)
		}
	})

	a.sw.Freeze()
	t.Cleanup(a.sw.Release)
	run(`INSERT INTO items VALUES (1, 'stale')`)
	// The stalled leader's relay published the change: it waits in the
	// frozen connection.
	poll(t, "the stalled leader's publish of the change", func() bool {
		return bytes.Contains(a.sw.Queued(), []byte("PUB "+cluster.DefaultSubject+".public.items "))
	})
	// Its lease ends as one not refreshed in time would: the other
	// instance sees it gone and takes over at once.
	deleteLease(t, ns)
	poll(t, "the other instance to lead", b.cl.Leading)
	if a.cl.Stats().Term >= b.cl.Stats().Term {
		t.Fatalf("the new leader's term %d is not above the stalled one's %d", b.cl.Stats().Term, a.cl.Stats().Term)
	}
	// Its LISTEN is established: it hears what is written from now on.
	poll(t, "the new leader's source to be ready", b.cl.Source().Ready)
	run(`INSERT INTO items VALUES (2, 'x')`)
	expectChanges(t, []*instance{b}, []string{"public.items:INSERT:2"}, []pubsub.Reason{pubsub.ReasonListen})
	if endedByClock {
		// The step-down is logged just after Leading turns false: wait
		// for the line, then check that it is the one meant.
		poll(t, "the stalled leader's clock to end its term", func() bool {
			return !a.cl.Leading() && strings.Contains(a.logs.String(), "cluster: no longer leading")
		})
		if !strings.Contains(a.logs.String(), "lease not refreshed in time") {
			t.Fatalf("the stalled leader stepped down for another reason:\n%s", a.logs)
		}
	} else if !a.cl.Leading() {
		t.Fatalf("the stalled leader stepped down while frozen:\n%s", a.logs)
	}

	a.sw.Release()
	pub, ans := w.answerTo(t, a.cl.ID()+":")
	var resp struct {
		Seq   uint64 `json:"seq"`
		Error *struct {
			ErrCode int `json:"err_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(ans, &resp); err != nil {
		t.Fatalf("answer %q: %v", ans, err)
	}
	if resp.Error == nil {
		t.Fatalf("the stalled leader's message %s (%s) was stored at sequence %d, after the new leader's",
			pub.Header.Get(jetstream.MsgIDHeader), pub.Subject, resp.Seq)
	}
	if resp.Error.ErrCode != int(jetstream.JSErrCodeStreamWrongLastSequence) {
		t.Fatalf("refused with %s, want a wrong last sequence", ans)
	}
	// Changes go on, from the new leader only.
	run(`INSERT INTO items VALUES (3, 'x')`)
	expectChanges(t, []*instance{b}, []string{"public.items:INSERT:3"}, nil)
	poll(t, "the stalled leader to step down", func() bool {
		return !a.cl.Leading() && strings.Contains(a.logs.String(), "cluster: no longer leading")
	})
	if !endedByClock && !strings.Contains(a.logs.String(), "another leader stored messages after this term's") &&
		!strings.Contains(a.logs.String(), "lease taken by another instance") {
		t.Fatalf("the stalled leader stepped down for another reason:\n%s", a.logs)
	}
}

// deleteLease deletes the default stream's leader lease, as it is when it
// expires: watching instances take over at once.
func deleteLease(t *testing.T, ns *server.Server) {
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
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	kv, err := js.KeyValue(ctx, cluster.DefaultStream+"_LEADER")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "leader"); err != nil {
		t.Fatal(err)
	}
}
