// Package modgraph holds no code: its test checks that a program importing
// only the library's public packages pulls none of the example's or the
// browser test's dependencies, nor the metrics module's client_golang,
// into its module graph (they live in supervisor_example's and metrics'
// own go.mod).
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package modgraph
