// Package pgsql is the SQL vocabulary the other packages share: [Table]
// names a table, [Querier] is what the catalog functions of packages
// trigger and replication need from a connection, and the identifier
// checks and errors they report are defined here once.
//
// It holds no connection and starts nothing. See
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
// for how the packages fit together.
package pgsql
