package metrics_test

import (
	"fmt"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// A host registers one collector per DB module and serves the registry
// with promhttp.HandlerFor at /metrics. Before the module runs, every
// counter is 0; the connect timestamp and slot gauges appear once they
// mean something.
func ExampleNew() {
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://app@localhost/app"})
	if err != nil {
		panic(err)
	}
	c, err := metrics.New(metrics.DB(db))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		fmt.Println(mf.GetName(), mf.GetType(), len(mf.GetMetric()))
	}
	// Output:
	// phoenixkitdb_pubsub_delivered_total COUNTER 1
	// phoenixkitdb_pubsub_dropped_total COUNTER 1
	// phoenixkitdb_pubsub_mailboxes GAUGE 1
	// phoenixkitdb_pubsub_published_total COUNTER 1
	// phoenixkitdb_pubsub_resyncs_total COUNTER 7
	// phoenixkitdb_pubsub_topics GAUGE 1
	// phoenixkitdb_source_connected GAUGE 1
	// phoenixkitdb_source_invalid_payloads_total COUNTER 1
	// phoenixkitdb_source_probe_rtt_seconds HISTOGRAM 1
	// phoenixkitdb_source_probes_total COUNTER 1
	// phoenixkitdb_source_published_total COUNTER 1
	// phoenixkitdb_source_ready GAUGE 1
	// phoenixkitdb_source_received_total COUNTER 1
	// phoenixkitdb_source_reconnects_total COUNTER 1
	// phoenixkitdb_source_running GAUGE 1
}
