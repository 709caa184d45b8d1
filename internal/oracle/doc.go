// Package oracle checks what a WAL source delivers against PostgreSQL's
// own decoding: the built-in test_decoding output plugin, read from a
// second logical slot created at the same point as the source's slot.
//
// # Parts
//
//   - [ParseChange] reads one line of test_decoding's text output (BEGIN,
//     COMMIT, a row change, TRUNCATE, a logical message, the two-phase
//     lines) into a [Change], with every value unquoted back to the text
//     the type's output function printed.
//   - [CreateSlot] and [ReadSlot] make the oracle's slot and read it in a
//     session pinned to the settings the WAL source must pin too
//     ([PinnedSettings]), so that the oracle's texts are the reference
//     whatever the database's defaults say.
//   - [LoadScope] tells which tables a publication streams, and under
//     which name (publish_via_partition_root reports a partition's rows as
//     its root's).
//   - [Compare] lines the oracle's changes up with the events a mailbox
//     received and reports every difference: a missing, extra or
//     reordered change, a transaction boundary, a position, a column's
//     state or type, a value's text.
//   - [Workload] generates, from a seed, a schema and a list of
//     transactions over every built-in type and the awkward cases of
//     logical decoding (TOAST, replica identities, TRUNCATE, ALTER TABLE,
//     partitions, savepoints, two-phase commit, logical messages).
//   - [CreateSourceSlot], [Collect] and [Check] are the rest of a run:
//     the source's slot made next to the oracle's, a mailbox read up to
//     the workload's fence row, and the comparison for one publication.
//
// # A run
//
// Make a database, run [Workload.Schema], create the oracle's slot and
// the source's, start the source (its mailbox subscribed to every table),
// [Workload.Run], [Workload.Fence], [Collect] the mailbox, [ReadSlot],
// then [Check] per publication. The package's own tests do this with the
// replication package's Source under three database setups (default,
// hostile settings, LATIN1); the cluster module's do it through a leader
// and a follower. A run prints its seed; the package's tests take
// -oracle.seed to repeat one.
//
// The package is for tests (of the replication package, the root module
// and the cluster module); nothing in it is safe to point at a database
// whose data matters: the workload creates and truncates tables.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package oracle
