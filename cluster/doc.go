// Package cluster fans one database's changes out to many instances.
package cluster
