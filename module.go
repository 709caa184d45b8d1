package phoenixkitdb

import "github.com/thejerf/suture/v4"

// Module is a unit a host application plugs into its suture supervisor
// tree through a [Registry], the Go counterpart of a PhoenixKit module.
type Module interface {
	// Key identifies the module in the Registry, e.g. "db".
	Key() string
	// Name is a human-readable name, e.g. "DB".
	Name() string
	// Version is the module's version.
	Version() string
	// Children returns the services to supervise while the module is
	// enabled. It must return the same services on every call, so that
	// state they hold (subscriptions, counters) survives disable/enable.
	Children() []suture.Service
}
