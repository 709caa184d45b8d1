package shape

import "errors"

// Errors of the package; match them with errors.Is. Errors from the WHERE
// clause (syntax, unsupported construct, unknown column, bad parameter)
// wrap ErrDefinition and the where package's own *Error, which names the
// construct and its byte position.
var (
	// ErrDefinition: the Definition cannot be a shape (bad WHERE clause,
	// unknown table or column, a table without a key, ...).
	ErrDefinition = errors.New("shape: invalid definition")
	// ErrNotPublished: in WAL mode, the table is not in the publication
	// the change source streams, so its changes would never arrive. Add it
	// with phoenixkitdb's EnsurePublication.
	ErrNotPublished = errors.New("shape: table not in the publication")
	// ErrTooManyShapes: Config.MaxShapes shapes are live and none of them
	// is idle.
	ErrTooManyShapes = errors.New("shape: too many shapes")
	// ErrInvalidConfig is wrapped by New for a Config it cannot use.
	ErrInvalidConfig = errors.New("shape: invalid config")
	// ErrSnapshot: the shape's snapshot query failed.
	ErrSnapshot = errors.New("shape: snapshot failed")
	// ErrClosed: the subscription was closed while Subscribe waited.
	ErrClosed = errors.New("shape: subscription closed")
)
