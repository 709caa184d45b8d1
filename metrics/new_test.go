package metrics_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fixedSource is a change source whose stats are fixed: what a WAL
// source's adapter reports, without a replication connection.
type fixedSource struct {
	labels metrics.Labels
	stats  metrics.SourceStats
}

func (s fixedSource) Labels() metrics.Labels           { return s.labels }
func (s fixedSource) SourceStats() metrics.SourceStats { return s.stats }
func walSource(slot string, lag uint64) fixedSource {
	return fixedSource{
		labels: metrics.Labels{Source: metrics.SourceWAL, Slot: slot},
		stats:  metrics.SourceStats{Running: true, Connected: true, Received: 9, Slot: &metrics.SlotStats{ConfirmedLSN: 0x16B3748, LagBytes: lag}},
	}
}

// New fails early for targets that would make every scrape fail or
// produce series that name no stream.
func TestNewRejects(t *testing.T) {
	ps := pubsub.New(nil)
	notify := metrics.Labels{Source: metrics.SourceNotify, Channel: "c"}
	for _, tc := range []struct {
		name    string
		targets []metrics.Target
		want    error
	}{
		{"nil DB", []metrics.Target{metrics.DB(nil)}, metrics.ErrNilTarget},
		{"nil Listener", []metrics.Target{metrics.Listener(nil)}, metrics.ErrNilTarget},
		{"nil PubSub", []metrics.Target{metrics.PubSub(nil, notify)}, metrics.ErrNilTarget},
		{"nil Source", []metrics.Target{metrics.FromSource(nil)}, metrics.ErrNilTarget},
		{"no source label", []metrics.Target{metrics.PubSub(ps, metrics.Labels{Channel: "c"})}, metrics.ErrInvalidLabels},
		{"no stream name", []metrics.Target{metrics.FromSource(walSource("", 0))}, metrics.ErrInvalidLabels},
		{"same slot twice", []metrics.Target{metrics.FromSource(walSource("s", 0)), metrics.FromSource(walSource("s", 1))}, metrics.ErrDuplicateLabels},
		{"same PubSub labels twice", []metrics.Target{metrics.PubSub(ps, notify), metrics.PubSub(pubsub.New(nil), notify)}, metrics.ErrDuplicateLabels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := metrics.New(tc.targets...); !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := metrics.New(); err != nil {
		t.Fatalf("New with no target: %v", err)
	}
}

// A source with a replication slot gets the slot gauges, labelled by
// source and slot; one without probes gets no histogram.
func TestSlotMetrics(t *testing.T) {
	c, err := metrics.New(metrics.FromSource(walSource("app_slot", 4096)))
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP phoenixkitdb_slot_confirmed_flush_lsn_bytes The replication slot's confirmed_flush_lsn as a byte position in the WAL.
# TYPE phoenixkitdb_slot_confirmed_flush_lsn_bytes gauge
phoenixkitdb_slot_confirmed_flush_lsn_bytes{slot="app_slot",source="wal"} 2.3803720e+07
# HELP phoenixkitdb_slot_lag_bytes WAL bytes the server holds for the replication slot beyond its confirmed position: its WAL position (replayed, on a standby) minus confirmed_flush_lsn.
# TYPE phoenixkitdb_slot_lag_bytes gauge
phoenixkitdb_slot_lag_bytes{slot="app_slot",source="wal"} 4096
# HELP phoenixkitdb_source_received_total Notifications (notify) or changes (wal) received.
# TYPE phoenixkitdb_source_received_total counter
phoenixkitdb_source_received_total{channel="",slot="app_slot",source="wal"} 9
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"phoenixkitdb_slot_confirmed_flush_lsn_bytes", "phoenixkitdb_slot_lag_bytes", "phoenixkitdb_source_received_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "phoenixkitdb_source_probe_rtt_seconds"); n != 0 {
		t.Fatalf("%d probe histograms for a source without probes", n)
	}
}

// A DB module in WAL mode exports its replication source and slot. Its
// slot is read from the server: with the server unreachable the lag is
// not exported (rather than 0, which would read as "all caught up") and
// phoenixkitdb_slot_server_up says why; a WAL source exports no probe or
// invalid-payload series, which would always read 0.
func TestDBInWALMode(t *testing.T) {
	// Nothing listens on port 1: the read fails at once.
	db, err := phoenixkitdb.New(phoenixkitdb.Config{Source: phoenixkitdb.SourceWAL, ConnString: "postgres://app@127.0.0.1:1/app", WAL: replication.Config{Slot: "app_slot"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := metrics.New(metrics.DB(db))
	if err != nil {
		t.Fatalf("metrics.New(metrics.DB(a WAL-mode DB)): %v", err)
	}
	want := `# HELP phoenixkitdb_slot_server_up 1 when the scrape read the slot's state from the server (a read at most 5 s old is reused), 0 when that read failed.
# TYPE phoenixkitdb_slot_server_up gauge
phoenixkitdb_slot_server_up{slot="app_slot",source="wal"} 0
# HELP phoenixkitdb_pubsub_mailboxes Mailboxes with at least one subscription.
# TYPE phoenixkitdb_pubsub_mailboxes gauge
phoenixkitdb_pubsub_mailboxes{channel="",slot="app_slot",source="wal"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "phoenixkitdb_slot_server_up", "phoenixkitdb_pubsub_mailboxes",
		"phoenixkitdb_slot_lag_bytes", "phoenixkitdb_slot_exists", "phoenixkitdb_source_probes_total",
		"phoenixkitdb_source_probe_rtt_seconds", "phoenixkitdb_source_invalid_payloads_total"); err != nil {
		t.Fatal(err)
	}
}
