// Package configerr builds each package's ErrInvalidConfig on the one
// shared sentinel, pgsql.ErrInvalidConfig.
package configerr

import "github.com/phoenixkit/phoenixkitdb/pgsql"

// sentinel prints as its package's own text and unwraps to
// pgsql.ErrInvalidConfig.
type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return pgsql.ErrInvalidConfig }

// New returns a sentinel printing "<pkg>: invalid config" that errors.Is
// matches both itself and pgsql.ErrInvalidConfig.
func New(pkg string) error { return &sentinel{msg: pkg + ": invalid config"} }
