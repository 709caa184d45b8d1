// Package chaos holds the chaos soak that tests phoenixkitdb's promise:
// no subscriber ever loses a change without being told. Every committed
// change reaches every mailbox subscribed to it, in commit order, or the
// mailbox receives a Resync that covers the gap.
//
// # The checker
//
// [Check] is the part that decides: given the changes that were committed
// (in commit order, read back from the database after the run) and what one
// mailbox read, it reports silent losses, duplicates, reorderings and
// changes that were never committed. It is plain code with unit tests that
// run in `make test`; https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/reliability.md explains the rules.
//
// # The soak
//
// The soaks (writers, three Listeners or three WAL Sources with mailboxes
// of different speeds, a seeded fault injector) live in test files behind
// the "chaos" build tag, so that `go test ./...` stays fast. TestChaos
// soaks the NOTIFY Listener, TestChaosWAL the WAL Source (on a server of
// its own with wal_level=logical, with slot faults and a stricter
// checker: see Mailbox.Allowed); they run side by side:
//
//	go test -tags chaos -race -v -parallel 2 -run Chaos ./internal/chaos -chaos.duration=60s
//
// `make chaos` runs exactly that, then the cluster module's soak
// (cluster/internal/chaos).
//
// # What the soaks share
//
// Both soaks use this package's plain files, so that there is one copy of
// the machinery: the checker, the workload (the schemas [SetupSchema] and
// [SetupWALSchema], the writers [Writer], the committed log
// [ReadCommitted]), the fault loop ([FaultLoop]: first every kind once,
// then weighted picks; the soak supplies what each fault does), the
// mailbox recorder ([Consumer]), the fence ([CommitFence], [FenceAll])
// and the summary's tallies ([Tally], [FaultText], [CountTxs]). What stays
// in each soak's test files is what differs: the apps or instances, the
// faults themselves and the summary line's own figures.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package chaos
