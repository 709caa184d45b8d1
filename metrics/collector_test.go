package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stream are the labels of the DB module's series.
const stream = `channel="phoenix_kit_db_changes",slot="",source="notify"`

// family formats one metric family in the text exposition format.
func family(name, typ, help string, samples ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	for _, s := range samples {
		fmt.Fprintf(&b, "%s%s\n", name, s)
	}
	return b.String()
}

// expected is the exposition of the values the scenario makes
// deterministic (everything but probes, their round trips and the
// connect time).
func expected(reconnects, resyncListen int) (text string, names []string) {
	type fam struct{ name, typ, help, samples string }
	fams := []fam{
		{"phoenixkitdb_source_running", "gauge", "1 while the change source's Serve runs, else 0.", "1"},
		{"phoenixkitdb_source_connected", "gauge", "1 while the change source holds a connection that receives changes, else 0.", "1"},
		{"phoenixkitdb_source_ready", "gauge", "1 while changes are known to flow (a notification from another session came through), else 0.", "1"},
		{"phoenixkitdb_source_reconnects_total", "counter", "Times the stream was re-established after the first time since Serve started.", fmt.Sprint(reconnects)},
		{"phoenixkitdb_source_received_total", "counter", "Notifications (notify) or changes (wal) received.", "4"},
		{"phoenixkitdb_source_invalid_payloads_total", "counter", "Received payloads that could not be parsed and were dropped.", "1"},
		{"phoenixkitdb_source_published_total", "counter", "Changes the source handed to its PubSub.", "3"},
		{"phoenixkitdb_pubsub_published_total", "counter", "Events accepted by the PubSub for delivery.", "3"},
		{"phoenixkitdb_pubsub_delivered_total", "counter", "Events put into subscribers' mailboxes (one per mailbox reached).", "4"},
		{"phoenixkitdb_pubsub_dropped_total", "counter", "Events lost because a subscriber's mailbox was full; each loss is followed by a Resync.", "2"},
		{"phoenixkitdb_pubsub_mailboxes", "gauge", "Mailboxes with at least one subscription.", "2"},
		{"phoenixkitdb_pubsub_topics", "gauge", "Topics with at least one subscriber.", "1"},
	}
	var b strings.Builder
	for _, f := range fams {
		b.WriteString(family(f.name, f.typ, f.help, "{"+stream+"} "+f.samples))
		names = append(names, f.name)
	}
	reason := func(r string, n int) string {
		return fmt.Sprintf(`{channel="phoenix_kit_db_changes",reason=%q,slot="",source="notify"} %d`, r, n)
	}
	b.WriteString(family("phoenixkitdb_pubsub_resyncs_total", "counter",
		"Resync events sent to mailboxes, by reason (listen, overflow, resync for a manual one, start, slot, reconnect, other).",
		reason("listen", resyncListen), reason("other", 0), reason("overflow", 1), reason("reconnect", 0), reason("resync", 0), reason("slot", 0), reason("start", 0)))
	names = append(names, "phoenixkitdb_pubsub_resyncs_total")
	return b.String(), names
}

// The collector, scraped with the client library's testutil, reports the
// DB module's counters after real notifications (one invalid), an
// overflow of a mailbox of capacity 1 that is not read, and a reconnect
// after pg_terminate_backend; its output passes the linter.
func TestCollectorAfterChangesOverflowAndReconnect(t *testing.T) {
	big, small := pubsub.NewMailbox(100), pubsub.NewMailbox(1)
	t.Cleanup(big.Close)
	t.Cleanup(small.Close)
	b := setup(t, func(db *phoenixkitdb.DB) {
		for _, mb := range []*pubsub.Mailbox{big, small} {
			if err := db.Listener().SubscribeAll(mb); err != nil {
				t.Fatal(err)
			}
		}
	})
	l, ps := b.db.Listener(), b.db.PubSub()
	// Both mailboxes got the first LISTEN's Resync; read small's, so that
	// its next overflow sends a Resync of its own.
	select {
	case ev := <-small.C():
		if ev.Kind != pubsub.Resync {
			t.Fatalf("small mailbox: got %v, want the LISTEN Resync", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("small mailbox: no LISTEN Resync within 10s")
	}

	// small takes the first change; it loses the next two and gets one
	// overflow Resync in their place. The invalid payload is received
	// and dropped.
	b.notify(t, "public.users:INSERT:1", "public.users:UPDATE:1", "not a payload", "public.orders:DELETE:7")
	eventually(t, 30*time.Second, "4 notifications received and 4 deliveries", func() bool {
		return l.Stats().Received == 4 && l.Stats().Published == 3 && ps.Stats().Delivered == 4
	})
	text, names := expected(0, 2)
	if err := testutil.CollectAndCompare(b.c, strings.NewReader(text), names...); err != nil {
		t.Fatalf("after changes and an overflow:\n%v", err)
	}

	b.terminateListener(t)
	eventually(t, 30*time.Second, "a reconnect", func() bool {
		s := l.Stats()
		return s.Reconnects == 1 && s.Connected
	})
	b.waitReady(t)
	// The reconnect's Resync reaches both mailboxes (small's is folded
	// into its unread overflow Resync, and still counts).
	text, names = expected(1, 4)
	if err := testutil.CollectAndCompare(b.c, strings.NewReader(text), names...); err != nil {
		t.Fatalf("after a reconnect:\n%v", err)
	}

	// Probes and their round trips: an idle connection is probed every
	// half ProbeInterval.
	eventually(t, 30*time.Second, "an echoed probe", func() bool { return l.ProbeRTT().Count >= 1 })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(b.c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, mf := range mfs {
		types[mf.GetName()] = mf.GetType().String()
		if mf.GetName() == "phoenixkitdb_source_probe_rtt_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() < 1 || h.GetSampleSum() <= 0 || len(h.GetBucket()) != len(l.ProbeRTT().Bounds) {
				t.Errorf("probe round-trip histogram: %v", h)
			}
		}
		if mf.GetName() == "phoenixkitdb_source_probes_total" && mf.GetMetric()[0].GetCounter().GetValue() < 1 {
			t.Errorf("probes_total = %v", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	for name, typ := range map[string]string{
		"phoenixkitdb_source_probe_rtt_seconds":              "HISTOGRAM",
		"phoenixkitdb_source_probes_total":                   "COUNTER",
		"phoenixkitdb_source_last_connect_timestamp_seconds": "GAUGE",
	} {
		if types[name] != typ {
			t.Errorf("%s has type %q, want %s", name, types[name], typ)
		}
	}
	if n := testutil.CollectAndCount(b.c); n != 22 {
		t.Errorf("CollectAndCount = %d series, want 22 (10 of the Listener, 12 of the PubSub)", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
