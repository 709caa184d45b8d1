package phoenixkitdb

// The SQL installed by EnsureTrigger. docs/triggers.md shows it and explains
// the choices; keep the two in step.
//
// Both functions are this package's own (PhoenixKit overwrites
// phoenix_kit_notify_table_change() with its body whenever it ensures a
// trigger, so nothing of ours calls that function). They are created in the
// table's schema, and rewritten only when their source differs from the
// bodies below.

const (
	rowFuncName  = "phoenixkitdb_notify_row"
	stmtFuncName = "phoenixkitdb_notify_statement"

	// Trigger argument values for the statement function.
	stmtModeCache     = "row"       // row mode: cache the id column, notify TRUNCATE
	stmtModeStatement = "statement" // per-statement mode: notify every statement

	auxBeforeSuffix = "_before"
	auxAfterSuffix  = "_after"
)

// idColumnQuery picks the row_id column of the trigger's table as
// "name:type-oid": uuid if it exists, else id, else NULL. It is a catalog
// lookup, so it stays right after ALTER TABLE ADD/DROP/RENAME COLUMN and
// ALTER COLUMN TYPE. Two lookups on pg_attribute's (attrelid, attname)
// index measured cheaper than one query with ORDER BY ... LIMIT 1.
const idColumnQuery = `COALESCE(
      (SELECT 'uuid:' || a.atttypid FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = TG_RELID AND a.attname = 'uuid' AND NOT a.attisdropped),
      (SELECT 'id:' || a.atttypid FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = TG_RELID AND a.attname = 'id' AND NOT a.attisdropped))`

// rowFuncBody is the AFTER ROW function. TG_ARGV[0] is the channel.
//
// Speed: the id column is read directly (NEW.uuid), never through an
// EXCEPTION block (a subtransaction per row) nor to_jsonb(NEW) (whole-row
// conversion). Which column to read comes from a transaction-local setting
// phoenixkitdb.idcol_<relid> that the BEFORE STATEMENT trigger fills from the
// catalog and the AFTER STATEMENT trigger clears; while a statement on the
// table runs, ALTER TABLE on it is impossible ("being used by active
// queries"), so the cached answer cannot go stale. Rows fired without that
// setting (e.g. routed into a partition) look the column up themselves.
// Assignments (x := f()) instead of PERFORM keep every step on PL/pgSQL's
// simple-expression path, which bypasses SPI.
const rowFuncBody = `
-- phoenixkitdb row trigger function, version 3
DECLARE
  col text := pg_catalog.current_setting('phoenixkitdb.idcol_' || TG_RELID, true);
  row_id text;
  payload text;
  ignored text;
BEGIN
  IF col IS NULL OR col = '' THEN
    col := COALESCE(` + idColumnQuery + `, '-');
  END IF;
  -- One branch per (column, type): PL/pgSQL plans each branch once per
  -- session with the type it first saw and fails if that type changes,
  -- so a branch is only entered with the type it was written for.
  IF col = 'uuid:2950' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.uuid::text; ELSE row_id := NEW.uuid::text; END IF;
  ELSIF col = 'id:20' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.id::text; ELSE row_id := NEW.id::text; END IF;
  ELSIF col = 'id:23' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.id::text; ELSE row_id := NEW.id::text; END IF;
  ELSIF col = 'id:2950' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.id::text; ELSE row_id := NEW.id::text; END IF;
  ELSIF col = 'uuid:25' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.uuid::text; ELSE row_id := NEW.uuid::text; END IF;
  ELSIF col = 'id:25' THEN
    IF TG_OP = 'DELETE' THEN row_id := OLD.id::text; ELSE row_id := NEW.id::text; END IF;
  ELSIF col <> '-' THEN
    -- Other types: dynamic SQL is planned afresh on every call.
    IF TG_OP = 'DELETE' THEN
      EXECUTE pg_catalog.format('SELECT ($1).%I::text', pg_catalog.split_part(col, ':', 1)) INTO row_id USING OLD;
    ELSE
      EXECUTE pg_catalog.format('SELECT ($1).%I::text', pg_catalog.split_part(col, ':', 1)) INTO row_id USING NEW;
    END IF;
  END IF;
  payload := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(row_id, '');
  -- NOTIFY payloads must be shorter than 8000 bytes; a longer id is sent empty.
  IF pg_catalog.octet_length(payload) >= 8000 THEN
    payload := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':';
  END IF;
  ignored := pg_catalog.pg_notify(COALESCE(TG_ARGV[0], 'phoenix_kit_db_changes'), payload);
  RETURN NULL;
END
`

// stmtFuncBody is the statement-level function. TG_ARGV[0] is the channel,
// TG_ARGV[1] the mode: "statement" notifies every statement; "row" notifies
// TRUNCATE and maintains the id-column cache described at rowFuncBody.
const stmtFuncBody = `
-- phoenixkitdb statement trigger function, version 3
DECLARE
  ignored text;
BEGIN
  IF TG_OP = 'TRUNCATE' OR TG_ARGV[1] = 'statement' THEN
    ignored := pg_catalog.pg_notify(COALESCE(TG_ARGV[0], 'phoenix_kit_db_changes'),
      TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':');
  ELSIF TG_WHEN = 'BEFORE' THEN
    ignored := pg_catalog.set_config('phoenixkitdb.idcol_' || TG_RELID,
      COALESCE(` + idColumnQuery + `, '-'), true);
  ELSE
    ignored := pg_catalog.set_config('phoenixkitdb.idcol_' || TG_RELID, '', true);
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
	ev := "INSERT OR UPDATE OR DELETE"
	if s.tgtype&tgTruncate != 0 {
		ev += " OR TRUNCATE"
	}
	when := "AFTER"
	if s.tgtype&tgBefore != 0 {
		when = "BEFORE"
	}
	level := "STATEMENT"
	if s.tgtype&tgRow != 0 {
		level = "ROW"
	}
	return when + " " + ev + " ON %s FOR EACH " + level
}

// wantedTriggers lists the triggers for one table in the chosen mode. The
// first carries PhoenixKit's name so each side finds the other's.
func wantedTriggers(schema, table string, o triggerOptions) []triggerSpec {
	main := mainTriggerName(schema, table)
	if o.perStatement {
		return []triggerSpec{
			{main, tgIUD | tgTruncate, stmtFuncName, []string{o.channel, stmtModeStatement}},
		}
	}
	return []triggerSpec{
		{main, tgRow | tgIUD, rowFuncName, []string{o.channel}},
		{auxTriggerName(schema, table, auxBeforeSuffix), tgBefore | tgIUD, stmtFuncName, []string{o.channel, stmtModeCache}},
		{auxTriggerName(schema, table, auxAfterSuffix), tgIUD | tgTruncate, stmtFuncName, []string{o.channel, stmtModeCache}},
	}
}
