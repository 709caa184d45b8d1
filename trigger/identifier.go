package trigger

import (
	"fmt"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

const (
	// maxIdentifierBytes is PostgreSQL's identifier limit (NAMEDATALEN-1).
	maxIdentifierBytes = 63
	// triggerPrefix starts the name of the main trigger either side
	// installs; PhoenixKit finds triggers with LIKE 'phoenix_kit_db_change_%'.
	triggerPrefix = "phoenix_kit_db_change_"
	// helperPrefix starts the name of this package's helper triggers. It does
	// not match PhoenixKit's pattern, so PhoenixKit never lists a table for
	// a helper alone.
	helperPrefix = "phoenixkitdb_"
	// truncateTriggerName is row mode's AFTER TRUNCATE helper. Trigger names
	// are per table, so one fixed name serves every table.
	truncateTriggerName = helperPrefix + "truncate"
	// DefaultChannel is the channel PhoenixKit and this package notify on
	// unless WithChannel says otherwise (listener.DefaultChannel, where
	// the Listener listens by default).
	DefaultChannel = "phoenix_kit_db_changes"
)

// validateTable checks that schema.table can be carried unambiguously in a
// payload "schema.table:OP:row_id": the schema ends at the first '.', the
// table at the next ':'.
func validateTable(schema, table string) error {
	if err := validateName("schema", schema); err != nil {
		return err
	}
	if strings.Contains(schema, ".") {
		return fmt.Errorf("%w: schema %q contains '.'", pgsql.ErrInvalidIdentifier, schema)
	}
	return validateName("table", table)
}

func validateName(kind, name string) error {
	if err := pgsql.CheckIdentifier(kind, name); err != nil {
		return err
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("%w: %s name %q contains ':'", pgsql.ErrInvalidIdentifier, kind, name)
	}
	return nil
}

// validateChannel rejects channel names pg_notify would reject at write time
// (LISTEN would silently truncate a long one instead).
func validateChannel(ch string) error { return pgsql.CheckIdentifier("channel", ch) }

// mainTriggerName is the name PhoenixKit gives the trigger on schema.table:
// "phoenix_kit_db_change_<schema>_<table>" with every character outside
// [a-zA-Z0-9_] replaced by '_', then folded and truncated as PostgreSQL does
// with the unquoted identifier PhoenixKit sends. Names differ only per
// table, so truncation cannot make two tables collide.
func mainTriggerName(schema, table string) string {
	name := strings.ToLower(triggerPrefix + sanitizeName(schema) + "_" + sanitizeName(table))
	if len(name) > maxIdentifierBytes {
		name = name[:maxIdentifierBytes] // ASCII only, so a byte cut is a character cut
	}
	return name
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
