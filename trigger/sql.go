package trigger

import "strings"

// The SQL installed by Ensure. docs/triggers.md shows it and explains
// the choices; keep the two in step (TestTriggerDocsShowInstalledSQL checks).
//
// Both functions are this package's own (PhoenixKit overwrites
// phoenix_kit_notify_table_change() with its body whenever it ensures a
// trigger, so nothing of ours calls that function). They are created in the
// table's schema, owned by the installing role, and rewritten only when
// their source differs from the bodies below.
//
// Every function, operator and type in them is qualified with pg_catalog,
// so a writer's search_path cannot make them run another role's code
// (a trigger runs with the privileges of whoever writes the row). That pins
// them as firmly as "SET search_path = pg_catalog, pg_temp" would, without
// the GUC save and restore such a clause costs on every call.

const (
	rowFuncName  = "phoenixkitdb_notify_row"
	stmtFuncName = "phoenixkitdb_notify_statement"

	// Second trigger argument of the statement function.
	stmtModeStatement = "statement" // per-statement mode: notify every statement
	stmtModeTruncate  = "truncate"  // row mode's TRUNCATE helper
	// stmtModeLegacyRow marks the "_before"/"_after" helpers that version 3
	// installed in row mode; the current function ignores them except for
	// TRUNCATE, and Ensure and Remove drop them.
	stmtModeLegacyRow = "row"
)

// rowFuncBody is the AFTER ROW function. TG_ARGV[0] is the channel;
// TG_ARGV[1] and TG_ARGV[2], given only on a partitioned table, are the
// schema and name the payload carries instead of TG_TABLE_SCHEMA and
// TG_TABLE_NAME, which name the partition the row landed in (PostgreSQL
// copies a partitioned table's row trigger, arguments included, to every
// partition, also those attached later). That case has a branch of its own
// so that ordinary tables pay one integer comparison for it, not array
// subscripts and COALESCE in the payload expression.
//
// It finds row_id as PhoenixKit does, one subtransaction per EXCEPTION
// block, so it stays right whatever happens to the table's columns after
// installation (each row proves afresh which column it has), and adds:
//   - datatype_mismatch: PL/pgSQL plans NEW.uuid::text once per session with
//     the type it first saw and raises this once the column's type changes;
//     the value is then read through EXECUTE, planned afresh;
//   - payloads at NOTIFY's 8000-byte limit are sent with an empty row_id;
//   - no SPI: assignments (x := f()) instead of PERFORM, and format() instead
//     of a chain of ||, are cheaper per row and per transaction.
//
// There is no cache of the id column and no statement-level helper: a
// single-row statement pays for every expression PL/pgSQL initialises, once
// per transaction, and any cache costs more there than the subtransaction
// it saves (measured by make bench: docs/performance.md).
const rowFuncBody = `
-- phoenixkitdb row trigger function, version 5
DECLARE
  row_id pg_catalog.text;
  ignored pg_catalog.text;
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
    BEGIN
      row_id := OLD.uuid::pg_catalog.text;
    EXCEPTION
      WHEN undefined_column THEN
        BEGIN
          row_id := OLD.id::pg_catalog.text;
        EXCEPTION
          WHEN undefined_column THEN NULL;
          WHEN datatype_mismatch THEN EXECUTE 'SELECT ($1).id::pg_catalog.text' INTO row_id USING OLD;
        END;
      WHEN datatype_mismatch THEN EXECUTE 'SELECT ($1).uuid::pg_catalog.text' INTO row_id USING OLD;
    END;
  ELSE
    BEGIN
      row_id := NEW.uuid::pg_catalog.text;
    EXCEPTION
      WHEN undefined_column THEN
        BEGIN
          row_id := NEW.id::pg_catalog.text;
        EXCEPTION
          WHEN undefined_column THEN NULL;
          WHEN datatype_mismatch THEN EXECUTE 'SELECT ($1).id::pg_catalog.text' INTO row_id USING NEW;
        END;
      WHEN datatype_mismatch THEN EXECUTE 'SELECT ($1).uuid::pg_catalog.text' INTO row_id USING NEW;
    END;
  END IF;
  -- NOTIFY payloads must be shorter than 8000 bytes; a longer id is sent empty.
  -- Schema and table take at most 126 bytes, so shorter ids always fit.
  IF pg_catalog.octet_length(row_id) OPERATOR(pg_catalog.>) 7800 THEN
    IF pg_catalog.octet_length(COALESCE(TG_ARGV[1], TG_TABLE_SCHEMA))
        OPERATOR(pg_catalog.+) pg_catalog.octet_length(COALESCE(TG_ARGV[2], TG_TABLE_NAME))
        OPERATOR(pg_catalog.+) pg_catalog.octet_length(TG_OP)
        OPERATOR(pg_catalog.+) pg_catalog.octet_length(row_id) OPERATOR(pg_catalog.>=) 7997 THEN
      row_id := NULL;
    END IF;
  END IF;
  IF TG_NARGS OPERATOR(pg_catalog.<) 3 THEN
    ignored := pg_catalog.pg_notify(COALESCE(TG_ARGV[0], 'phoenix_kit_db_changes'),
      pg_catalog.format('%s.%s:%s:%s', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_id));
  ELSE
    -- A partitioned table passes its own name: the trigger fires in its partitions.
    ignored := pg_catalog.pg_notify(TG_ARGV[0],
      pg_catalog.format('%s.%s:%s:%s', TG_ARGV[1], TG_ARGV[2], TG_OP, row_id));
  END IF;
  RETURN NULL;
END
`

// stmtFuncBody is the statement-level function. TG_ARGV[0] is the channel,
// TG_ARGV[1] the mode: "statement" notifies every statement; anything else
// ("truncate", or version 3's "row") notifies TRUNCATE only, and only while
// the table still has a row trigger calling phoenixkitdb_notify_row of this
// function's own schema, so that once PhoenixKit's remove_trigger has
// dropped that trigger nothing of ours notifies, and a same-named function
// elsewhere does not count.
const stmtFuncBody = `
-- phoenixkitdb statement trigger function, version 5
DECLARE
  ignored pg_catalog.text;
BEGIN
  IF TG_ARGV[1] OPERATOR(pg_catalog.=) 'statement' THEN
    ignored := pg_catalog.pg_notify(COALESCE(TG_ARGV[0], 'phoenix_kit_db_changes'),
      pg_catalog.format('%s.%s:%s:', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP));
  ELSIF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
        JOIN pg_catalog.pg_trigger self ON self.tgrelid OPERATOR(pg_catalog.=) t.tgrelid
        JOIN pg_catalog.pg_proc sp ON sp.oid OPERATOR(pg_catalog.=) self.tgfoid
        WHERE t.tgrelid OPERATOR(pg_catalog.=) TG_RELID AND self.tgname OPERATOR(pg_catalog.=) TG_NAME
          AND p.proname OPERATOR(pg_catalog.=) 'phoenixkitdb_notify_row'
          AND p.pronamespace OPERATOR(pg_catalog.=) sp.pronamespace) THEN
      ignored := pg_catalog.pg_notify(COALESCE(TG_ARGV[0], 'phoenix_kit_db_changes'),
        pg_catalog.format('%s.%s:%s:', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP));
    END IF;
  END IF;
  RETURN NULL;
END
`

// pg_trigger.tgtype bits.
const (
	tgRow      = 1 << 0
	tgBefore   = 1 << 1
	tgInsert   = 1 << 2
	tgDelete   = 1 << 3
	tgUpdate   = 1 << 4
	tgTruncate = 1 << 5
	tgIUD      = tgInsert | tgUpdate | tgDelete
)

// triggerSpec is one trigger as this package installs it.
type triggerSpec struct {
	name   string
	tgtype int16
	fn     string
	args   []string
}

func (s triggerSpec) events() string {
	var ev []string
	for _, e := range []struct {
		bit  int16
		name string
	}{{tgInsert, "INSERT"}, {tgUpdate, "UPDATE"}, {tgDelete, "DELETE"}, {tgTruncate, "TRUNCATE"}} {
		if s.tgtype&e.bit != 0 {
			ev = append(ev, e.name)
		}
	}
	when := "AFTER"
	if s.tgtype&tgBefore != 0 {
		when = "BEFORE"
	}
	level := "STATEMENT"
	if s.tgtype&tgRow != 0 {
		level = "ROW"
	}
	return when + " " + strings.Join(ev, " OR ") + " ON %s FOR EACH " + level
}

// wantedTriggers lists the triggers for one table in the chosen mode. The
// first carries PhoenixKit's name so each side finds the other's; the
// TRUNCATE helper of row mode is named outside PhoenixKit's
// "phoenix_kit_db_change_%" pattern, so PhoenixKit neither lists it nor
// counts it as a trigger of the table. partitioned adds the table's name to
// the row trigger's arguments (see rowFuncBody); ordinary tables go without,
// so their payloads follow a rename.
func wantedTriggers(schema, table string, partitioned bool, o options) []triggerSpec {
	main := mainTriggerName(schema, table)
	if o.perStatement {
		return []triggerSpec{
			{main, tgIUD | tgTruncate, stmtFuncName, []string{o.channel, stmtModeStatement}},
		}
	}
	rowArgs := []string{o.channel}
	if partitioned {
		rowArgs = append(rowArgs, schema, table)
	}
	return []triggerSpec{
		{main, tgRow | tgIUD, rowFuncName, rowArgs},
		{truncateTriggerName, tgTruncate, stmtFuncName, []string{o.channel, stmtModeTruncate}},
	}
}
