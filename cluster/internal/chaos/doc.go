// Package chaos holds the cluster module's chaos soak: three instances,
// each with its own DB module, cluster module, Registry and suture
// supervisor, on one database and one embedded NATS server, under a
// writer's load, while a seeded injector applies PostgreSQL faults (the
// leader's reading backend terminated, its PostgreSQL path frozen or cut,
// the server restarted) and NATS and leader faults (the leader stopped,
// crashed or partitioned from NATS, a follower partitioned from NATS for
// a while, the NATS server restarted on its file storage).
//
// The fault loop, the mailbox recorder, the fence and the summary's
// tallies are the core soak's (github.com/phoenixkit/phoenixkitdb/internal/chaos);
// this package holds the instances, the faults and the checks of its own.
// Every mailbox of every instance is judged by the core soak's checker:
// with the NOTIFY source nothing is lost silently (Resyncs, at failovers
// among others, cover every gap); with the WAL source every change arrives
// exactly once and in commit order, with no Resync but a follower's start
// and a mailbox's own overflow.
//
// The soak lives in test files behind the "chaos" build tag:
//
//	go test -tags chaos -race -v -run Chaos ./internal/chaos -chaos.duration=60s
//
// run from the cluster module's directory; `make chaos` runs it after the
// core soaks. docs/reliability.md describes what it checks.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package chaos
