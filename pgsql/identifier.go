package pgsql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxIdentifierBytes is PostgreSQL's identifier limit (NAMEDATALEN-1):
// LISTEN and the catalog truncate longer names silently, pg_notify and
// slot creation refuse them.
const maxIdentifierBytes = 63

// CheckIdentifier returns an error wrapping ErrInvalidIdentifier when name,
// a kind ("channel", "publication", ...) name, cannot be stored intact:
// it must be 1 to 63 bytes of valid UTF-8 without NUL. Case matters; the
// name is quoted wherever it is sent.
func CheckIdentifier(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s name", ErrInvalidIdentifier, kind)
	case len(name) > maxIdentifierBytes:
		return fmt.Errorf("%w: %s %q is longer than %d bytes", ErrInvalidIdentifier, kind, name, maxIdentifierBytes)
	case strings.ContainsRune(name, 0) || !utf8.ValidString(name):
		return fmt.Errorf("%w: %s %q contains NUL or invalid UTF-8", ErrInvalidIdentifier, kind, name)
	}
	return nil
}

// CheckSlotName applies PostgreSQL's rule for replication slot names
// (ReplicationSlotValidateName): 1 to 63 bytes of lower-case letters,
// digits and underscores, so such a name never needs quoting. The error
// wraps ErrInvalidIdentifier.
func CheckSlotName(slot string) error {
	if slot == "" || len(slot) > maxIdentifierBytes {
		return fmt.Errorf("%w: slot name %q must be 1 to %d bytes", ErrInvalidIdentifier, slot, maxIdentifierBytes)
	}
	for i := 0; i < len(slot); i++ {
		c := slot[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: slot name %q may hold only lower-case letters, digits and underscores", ErrInvalidIdentifier, slot)
		}
	}
	return nil
}

// Check returns an error wrapping ErrInvalidIdentifier when t's schema or
// name cannot be stored intact (see CheckIdentifier).
func (t Table) Check() error {
	for _, n := range []string{t.Schema, t.Name} {
		if CheckIdentifier("table", n) != nil {
			return fmt.Errorf("%w: table %q.%q", ErrInvalidIdentifier, t.Schema, t.Name)
		}
	}
	return nil
}
