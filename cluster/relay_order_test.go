package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// setMaxMsgSize sets the stream's MaxMsgSize (-1: no limit).
func setMaxMsgSize(t *testing.T, js jetstream.JetStream, size int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = size
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// The relay keeps many publishes in flight. When JetStream refuses one of
// them (here: larger than the stream's MaxMsgSize, until the limit is
// lifted), the ones published after it in the same window must not land
// first: followers get every change once, in commit order, after the
// relay's retries store the refused one.
func TestRelayKeepsOrderWhenAMessageIsRefused(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	url := pgtest.NewDB(t, pg)
	conn := connect(t, url)
	exec(t, conn, `CREATE TABLE texts (id text PRIMARY KEY)`)
	if err := trigger.Ensure(context.Background(), conn, "public", "texts"); err != nil {
		t.Fatal(err)
	}
	ins := []*instance{newInstance(t, ns, url, instanceOpts{}), newInstance(t, ns, url, instanceOpts{})}
	waitReady(t, ins...)
	leader := leaderOf(t, ins)
	if leader == nil {
		t.Fatal("no leader")
	}

	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	setMaxMsgSize(t, js, 512)

	var ids, want []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("a%02d", i))
	}
	ids = append(ids, strings.Repeat("x", 1000)) // its message exceeds 512 bytes
	for i := range 200 {
		ids = append(ids, fmt.Sprintf("b%03d", i))
	}
	for _, id := range ids {
		want = append(want, "public.texts:INSERT:"+id)
	}
	// One transaction: the relay gets every change at once and publishes
	// them back to back.
	exec(t, conn, `INSERT INTO texts SELECT unnest($1::text[])`, ids)
	poll(t, "the relay to report the refused publish", func() bool {
		return strings.Contains(leader.logs.String(), "cannot publish to the stream")
	})
	setMaxMsgSize(t, js, -1)
	expectChangesAnyResyncs(t, ins, want)
	// Followers can read a message before the relay has counted its
	// acknowledgement: wait for the counter rather than reading it once.
	poll(t, fmt.Sprintf("the relay to count at least %d events stored", len(ids)), func() bool {
		return leader.cl.Stats().Published >= uint64(len(ids))
	})
}
