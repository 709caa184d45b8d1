package phoenixkitdb

import "errors"

// Errors returned by the Registry; match them with errors.Is.
var (
	// ErrDuplicateModule is returned by Register for a key already taken.
	ErrDuplicateModule = errors.New("phoenixkitdb: duplicate module key")
	// ErrUnknownModule is returned for a key that was never registered.
	ErrUnknownModule = errors.New("phoenixkitdb: unknown module")
	// ErrInvalidModule is returned by Register for a nil module or an
	// empty key.
	ErrInvalidModule = errors.New("phoenixkitdb: invalid module")
	// ErrSupervisorStopped is returned by Enable when the supervisor has
	// already ended and cannot take children.
	ErrSupervisorStopped = errors.New("phoenixkitdb: supervisor stopped")
	// ErrStopTimeout is returned by Disable and DisableContext when a
	// child did not stop before the context ended (the error also wraps
	// the context's error); the module counts as disabled anyway.
	ErrStopTimeout = errors.New("phoenixkitdb: module children did not stop in time")
)
