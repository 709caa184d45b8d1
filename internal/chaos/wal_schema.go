package chaos

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// WALPublication publishes the soak's three tables to the WAL Sources.
const WALPublication = "chaos"

// walSchemaSQL is the WAL soak's schema: the same tables, audited row by
// row (the WAL carries every row change, chaos_s included, and no notify
// trigger is installed), with three differences that keep every event's
// payload unique and equal to its audit row:
//
//   - chaos_b's uuid is an ordinary column filled by a BEFORE trigger:
//     PostgreSQL 15 does not publish generated columns, and the event's
//     RowID comes from the published row;
//   - chaos_b has REPLICA IDENTITY FULL, so a DELETE carries the uuid;
//   - chaos_s is audited per row (its RowID is its id), and its UPDATE
//     gives the row a new id (see walStatements).
//
// chaos_pad is outside the publication: the garbage fault writes there.
const walSchemaSQL = `
CREATE SEQUENCE chaos_a_seq;
CREATE TABLE chaos_a (id bigint PRIMARY KEY, note text NOT NULL DEFAULT 'w');
CREATE SEQUENCE chaos_b_seq;
CREATE TABLE chaos_b (seq bigint PRIMARY KEY, uuid uuid NOT NULL, note text NOT NULL DEFAULT 'w');
ALTER TABLE chaos_b REPLICA IDENTITY FULL;
CREATE FUNCTION chaos_b_uuid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.uuid := lpad(to_hex(NEW.seq), 32, '0')::uuid;
  RETURN NEW;
END $$;
CREATE TRIGGER chaos_b_uuid BEFORE INSERT OR UPDATE ON chaos_b
  FOR EACH ROW EXECUTE FUNCTION chaos_b_uuid();
CREATE TABLE chaos_s (id bigserial PRIMARY KEY, v int NOT NULL DEFAULT 0);
CREATE TABLE chaos_pad (n bigserial PRIMARY KEY, pad text NOT NULL);
` + auditSQL + `
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON chaos_a
  FOR EACH ROW EXECUTE FUNCTION chaos_audit_row('id');
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON chaos_b
  FOR EACH ROW EXECUTE FUNCTION chaos_audit_row('uuid');
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON chaos_s
  FOR EACH ROW EXECUTE FUNCTION chaos_audit_row('id');
CREATE TRIGGER chaos_audit_truncate AFTER TRUNCATE ON chaos_s
  FOR EACH STATEMENT EXECUTE FUNCTION chaos_audit_statement();
CREATE PUBLICATION ` + WALPublication + ` FOR TABLE chaos_a, chaos_b, chaos_s;
`

// SetupWALSchema creates the WAL soak's schema and publication.
func SetupWALSchema(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, walSchemaSQL); err != nil {
		return fmt.Errorf("wal schema: %w", err)
	}
	return nil
}

// WALStatements are the writers' statements in the WAL soak: those of the
// NOTIFY soak, except that an UPDATE of chaos_s gives the row a new id.
// Do not modify it.
var WALStatements = func() map[string][]Statement {
	out := map[string][]Statement{}
	for table, sts := range Statements {
		out[table] = append([]Statement(nil), sts...)
	}
	for i, st := range out[TableS] {
		if strings.HasPrefix(st.SQL, "UPDATE") {
			out[TableS][i].SQL = `UPDATE chaos_s SET id = nextval('chaos_s_id_seq'), v = v + 1 WHERE id IN (SELECT id FROM chaos_s ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`
		}
	}
	return out
}()

// SlotsConfirmed reports whether every slot has confirmed lsn or later:
// the Sources acknowledge what they published, so a slot pins no WAL
// once things are quiet. ok is false on a query error (retry).
func SlotsConfirmed(ctx context.Context, dbURL string, slots []string, lsn string) (behind []string, ok bool) {
	conn, err := ConnectWriter(ctx, dbURL, "chaos-admin")
	if err != nil {
		return nil, false
	}
	defer CloseConn(conn)
	rows, err := conn.Query(ctx, `SELECT slot_name, COALESCE(confirmed_flush_lsn::text, 'none')
		FROM pg_replication_slots WHERE slot_name = ANY($1) AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $2::pg_lsn)
		UNION ALL SELECT s, 'missing' FROM unnest($1::text[]) s WHERE s NOT IN (SELECT slot_name FROM pg_replication_slots)`,
		slots, lsn)
	if err != nil {
		return nil, false
	}
	var name, at string
	_, err = pgx.ForEachRow(rows, []any{&name, &at}, func() error {
		behind = append(behind, name+"@"+at)
		return nil
	})
	return behind, err == nil
}
