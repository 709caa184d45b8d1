package writecost

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Contender is one way of notifying on writes, measured against the others.
type Contender string

// The contenders. The baselines are written here from the description of
// PhoenixKit's function, under names of their own so they never replace a
// real phoenix_kit_notify_table_change().
const (
	NoTrigger        Contender = "none"         // no trigger at all
	ExceptionBlocks  Contender = "exception"    // PhoenixKit's form: nested BEGIN ... EXCEPTION per row
	JSONB            Contender = "to_jsonb"     // row id read through to_jsonb(NEW)
	DirectRead       Contender = "direct"       // NEW.uuid (NEW.id with NoUUID) read directly (not robust: the lower bound)
	LibraryRow       Contender = "library-row"  // trigger.Ensure
	LibraryStatement Contender = "library-stmt" // trigger.Ensure with PerStatement
)

// AllContenders is the default set, in report order.
var AllContenders = []Contender{NoTrigger, ExceptionBlocks, JSONB, DirectRead, LibraryRow, LibraryStatement}

// PhoenixKitFunction returns a CREATE OR REPLACE FUNCTION statement for a
// trigger function that behaves as PhoenixKit's phoenix_kit_notify_table_change()
// is described: the row id from uuid, else id, else empty, each read in a
// BEGIN ... EXCEPTION block, then PERFORM pg_notify. name is the function's
// (already quoted) name and channel an SQL expression for the channel. It
// is the baseline of the write-cost benchmark and the stand-in for
// PhoenixKit in the compatibility tests.
func PhoenixKitFunction(name, channel string) string {
	return "CREATE OR REPLACE FUNCTION " + name + `() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_id text;
BEGIN
  BEGIN
    IF TG_OP = 'DELETE' THEN row_id := OLD.uuid::text; ELSE row_id := NEW.uuid::text; END IF;
  EXCEPTION WHEN undefined_column THEN
    BEGIN
      IF TG_OP = 'DELETE' THEN row_id := OLD.id::text; ELSE row_id := NEW.id::text; END IF;
    EXCEPTION WHEN undefined_column THEN
      row_id := '';
    END;
  END;
  PERFORM pg_notify(` + channel + `, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(row_id, ''));
  RETURN NULL;
END $$`
}

// baselineSQL creates the baseline functions in the current schema.
var baselineSQL = PhoenixKitFunction("writecost_exception_notify", "TG_ARGV[0]") + `;

CREATE FUNCTION writecost_jsonb_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF;
  PERFORM pg_notify(TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(r->>'uuid', r->>'id', ''));
  RETURN NULL;
END $$;

CREATE FUNCTION writecost_direct_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(OLD.uuid::text, ''));
  ELSE
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(NEW.uuid::text, ''));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION writecost_direct_id_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(OLD.id::text, ''));
  ELSE
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || COALESCE(NEW.id::text, ''));
  END IF;
  RETURN NULL;
END $$;
`

// install puts contender c's trigger on table (already created, in schema).
func install(ctx context.Context, conn *pgx.Conn, c Contender, schema, table, channel string, o Options) error {
	qt := pgx.Identifier{schema, table}.Sanitize()
	lit := "'" + channel + "'" // channel is a fixed identifier-safe constant
	baseline := func(fn string) error {
		_, err := conn.Exec(ctx, "CREATE TRIGGER writecost AFTER INSERT OR UPDATE OR DELETE ON "+qt+
			" FOR EACH ROW EXECUTE FUNCTION "+pgx.Identifier{schema, fn}.Sanitize()+"("+lit+")")
		return err
	}
	switch c {
	case ExceptionBlocks:
		return baseline("writecost_exception_notify")
	case JSONB:
		return baseline("writecost_jsonb_notify")
	case DirectRead:
		if o.NoUUID {
			return baseline("writecost_direct_id_notify")
		}
		return baseline("writecost_direct_notify")
	case LibraryRow:
		return trigger.Ensure(ctx, conn, schema, table, trigger.WithChannel(channel))
	case LibraryStatement:
		return trigger.Ensure(ctx, conn, schema, table, trigger.WithChannel(channel), trigger.PerStatement())
	}
	return nil
}
