// Package release holds no code: its test publishes the working tree to a
// module proxy on disk, the way a release tags it (RELEASING.md), and
// fetches each module users `go get` (the library, metrics and cluster)
// into a fresh module of a user's, alone and in every order, then builds
// the README's Quick start and the modules' examples there.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package release
