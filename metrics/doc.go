// Package metrics exports phoenixkitdb's counters to Prometheus: a
// [prometheus.Collector] over a DB module, a bare Listener, a PubSub or
// any change source that implements [Source].
//
// It is a module of its own, so that programs that import only the
// library never download client_golang.
//
// # Reading, not counting
//
// The collector keeps no counters of its own. At every scrape it reads the
// Stats of each Listener and PubSub it was given (atomic loads and, for
// a PubSub, one short lock) and turns them into constant metrics: nothing
// is added to the path of a notification. A WAL source's slot is read
// from the server instead (pg_replication_slots, on a short connection
// of its own, bounded by 2 s and reused for 5 s), so that its lag keeps
// rising while the source is stopped or cut off; when the server cannot
// be read, phoenixkitdb_slot_server_up is 0 and the lag goes stale
// rather than freezing.
//
//	c, err := metrics.New(metrics.DB(db))
//	if err != nil { ... }
//	prometheus.MustRegister(c)
//	http.Handle("/metrics", promhttp.Handler())
//
// # Names and labels
//
// Every metric starts with phoenixkitdb_; counters end in _total; times
// are in seconds and sizes in bytes. Each series carries the labels
// source ("notify" for the LISTEN/NOTIFY Listener, "wal" for a logical
// replication source), channel (notify) and slot (wal); the label that
// does not apply is empty, which Prometheus stores as absent. Resync
// counts carry a reason. No metric is labelled by table or row: their
// number is unbounded. docs/operations.md lists every metric and the
// alerts worth setting.
//
// # Sources
//
// [Listener] and [DB] adapt the LISTEN/NOTIFY Listener, [Replication]
// the WAL change source (its slot's state included), [ReplicationSource]
// the same without its PubSub.
// Another change source is exported through [FromSource] with a small
// adapter that implements [Source].
//
// # Cluster
//
// [Cluster] exports the role and follower position of an instance that
// runs the cluster module (github.com/phoenixkit/phoenixkitdb/cluster)
// through a func returning [ClusterStats]: this module does not import
// the cluster module, so exporting metrics pulls in no NATS code. A
// member stopped on purpose reports Stopped, so the follower alerts
// leave it alone.
//
// # Alerts
//
// docs/alerts.yml holds Prometheus alerting rules over these metrics;
// the tests check them with promtool (check rules, and test rules with a
// firing case and a near miss for each alert).
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package metrics
