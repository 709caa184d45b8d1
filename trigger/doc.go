// Package trigger installs and removes the PhoenixKit-compatible change
// triggers the Listener (package listener) hears: every committed write to
// a watched table sends
//
//	NOTIFY phoenix_kit_db_changes, 'schema.table:OPERATION:row_id'
//
// so that a Go service and a PhoenixKit application can share one
// database and one set of triggers.
//
// [Ensure] installs the notify functions and the triggers (row mode, or
// one notification per statement with [PerStatement]); [Remove],
// [RemoveAll], [Has] and [List] manage and inspect them, with PhoenixKit's
// names and tests, whichever side installed a trigger. Every function is
// idempotent and safe to call concurrently from any number of processes:
// the catalog changes run in one transaction (or a savepoint of the
// caller's) under an advisory lock, with every wait for a table lock
// bounded ([WithLockTimeout], [DefaultLockTimeout]).
//
// # Security
//
// The notify functions live in the table's schema and run with the
// privileges of whoever writes a row. Ensure uses them only when they are
// owned by the installing role, a superuser or a role named with
// [WithTrustedOwners]; otherwise it fails with [ErrUntrustedFunction] and
// changes nothing. Every name in them is qualified with pg_catalog, so a
// writer's search_path cannot redirect them.
//
// The installed SQL, the choices behind it and the privileges each call
// needs are in
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/triggers.md;
// how the packages fit together in
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md.
package trigger
