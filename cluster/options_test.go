package cluster_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// NATS credentials pass through NATSOptions; a wrong password is retried
// and logged without the password. (In process, nats.Connect takes 10 s
// to report a wrong password, so this test's cleanup takes that long.)
func TestCredentialsPassThroughAndStayOutOfLogs(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	const user, good, bad = "app", "good-s3cret", "bad-s3cret"
	ns := startNATSWith(t, server.Options{Username: user, Password: good})
	url, run := notifyDB(t)
	ok := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{NATSOptions: []nats.Option{nats.UserInfo(user, good)}}})
	wrong := newInstance(t, ns, url, instanceOpts{cluster: cluster.Config{NATSOptions: []nats.Option{nats.UserInfo(user, bad)}}})
	waitReady(t, ok)
	run(`INSERT INTO items VALUES (1, 'x')`)
	expectChangesAnyResyncs(t, []*instance{ok}, []string{"public.items:INSERT:1"})
	poll(t, "the wrong password to be logged", func() bool { return strings.Contains(wrong.logs.String(), "setup failed") })
	if wrong.db.Ready() || wrong.cl.Leading() {
		t.Fatal("an instance with a wrong password is ready")
	}
	for _, in := range []*instance{ok, wrong} {
		if logs := in.logs.String(); strings.Contains(logs, good) || strings.Contains(logs, bad) {
			t.Fatalf("a password reached the log:\n%s", logs)
		}
	}
}

// A follower whose mailbox is never read overflows into a Resync, as
// locally, and neither the leader nor the other follower is held back.
func TestSlowMailboxDoesNotSlowOthers(t *testing.T) {
	ns := startNATS(t)
	url, run := notifyDB(t)
	a := newInstance(t, ns, url, instanceOpts{})
	b := newInstance(t, ns, url, instanceOpts{})
	slow := pubsub.NewMailbox(4)
	if err := b.db.Changes().SubscribeAll(slow); err != nil {
		t.Fatal(err)
	}
	waitReady(t, a, b)
	const n = 50
	for i := range n {
		run(`INSERT INTO items VALUES ($1, 'x')`, i)
	}
	expectChangesAnyResyncs(t, []*instance{a, b}, inserts(0, n))
	if slow.Dropped() == 0 {
		t.Fatal("the slow mailbox dropped nothing")
	}
	var sawOverflow bool
	for len(slow.C()) > 0 {
		if ev := <-slow.C(); ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonOverflow {
			sawOverflow = true
		}
	}
	if !sawOverflow {
		t.Fatal("no overflow Resync in the slow mailbox")
	}
	slow.Close()
}
