// Package phoenixkitdb is the Go port of PhoenixKitDb.Listener, the
// live-update engine of PhoenixKit's database explorer.
//
// Row triggers on watched tables send
//
//	NOTIFY phoenix_kit_db_changes, 'schema.table:OPERATION:row_id'
//
// and a [listener.Listener], holding its own PostgreSQL connection,
// LISTENs on that channel and publishes each change through a
// [pubsub.PubSub] to two topics: the table's own and the all-tables one.
// Live pages and workers subscribe with a [pubsub.Mailbox].
//
// # Modules
//
// A host application plugs the library into its suture supervisor tree as
// a [Module]: [DB] is this library's module, whose Children are the PubSub
// and its change source: the Listener, or with Config.Source = SourceWAL
// the replication Source (package replication). [Config] names each
// source's own configuration (Config.Listener, Config.WAL). A [Registry]
// enables and disables modules at run time:
//
//	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: url})
//	reg := phoenixkitdb.NewRegistry(sup, logger)
//	_ = reg.Register(db)
//	_ = reg.Enable("db")
//
// An application without suture calls [Start] instead: it runs the module
// under a supervisor of its own and returns once changes flow.
//
// # Nothing lost silently
//
// After every (re-)connection of the Listener, and whenever a slow mailbox
// overflows, subscribers receive a Resync event meaning "reload", in
// order with the changes around it. See package pubsub.
//
// # Triggers
//
// Package trigger installs PhoenixKit-compatible triggers (trigger.Ensure)
// so that a Go service and a PhoenixKit application can share one
// database; package replication administers the WAL source's publication
// and slot (replication.EnsurePublication, replication.DropSlot). See
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/triggers.md.
//
// # Switching change sources
//
// Each source leaves something the other does not use: the WAL source a
// replication slot (which retains WAL), the Listener triggers (which make
// every write notify). [FindLeftovers] reports what is left for the source
// a Config chooses, and Start logs it once; replication.DropSlot and
// trigger.Remove remove it.
//
// How the packages fit together, which goroutine owns what and the
// invariants each layer keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md.
package phoenixkitdb
