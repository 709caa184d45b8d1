package chaos

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// The soaks' tables. Every row carries a per-table sequence number, and
// an UPDATE gives the row a new one, so every row-level payload of the run
// is unique and names exactly one committed change.
const (
	TableA = "public.chaos_a" // row trigger, row_id = id (bigint)
	TableB = "public.chaos_b" // row trigger, row_id = uuid, generated from seq
	TableS = "public.chaos_s" // per-statement trigger: no row ids
)

// AllTables lists the soaks' tables. Do not modify it.
var AllTables = []string{TableA, TableB, TableS}

// schemaSQL creates the tables and the audit that records, inside each
// writing transaction, the notifications its triggers send:
//
//   - chaos_audit gets one row per notification, in the order the
//     triggers fired (the serial n), tagged with the transaction id;
//   - chaos_commit gets one row per writing transaction, whose seq is
//     taken under a transaction-scoped advisory lock held until the
//     transaction ends, so seq order is commit order.
//
// Only committed transactions leave rows: the join of the two, ordered by
// (seq, n), is what PostgreSQL owes its listeners, before folding.
const schemaSQL = `
CREATE SEQUENCE chaos_a_seq;
CREATE TABLE chaos_a (id bigint PRIMARY KEY, note text NOT NULL DEFAULT 'w');
CREATE SEQUENCE chaos_b_seq;
CREATE TABLE chaos_b (
  seq bigint PRIMARY KEY,
  uuid uuid GENERATED ALWAYS AS (lpad(to_hex(seq), 32, '0')::uuid) STORED,
  note text NOT NULL DEFAULT 'w');
CREATE TABLE chaos_s (id bigserial PRIMARY KEY, v int NOT NULL DEFAULT 0);
` + auditSQL + `
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON chaos_a
  FOR EACH ROW EXECUTE FUNCTION chaos_audit_row('id');
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON chaos_b
  FOR EACH ROW EXECUTE FUNCTION chaos_audit_row('uuid');
CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON chaos_s
  FOR EACH STATEMENT EXECUTE FUNCTION chaos_audit_statement();
`

// auditSQL creates the audit tables and trigger functions both soaks use.
const auditSQL = `
CREATE TABLE chaos_audit (
  n bigserial PRIMARY KEY,
  xid bigint NOT NULL DEFAULT txid_current(),
  payload text NOT NULL);
CREATE INDEX ON chaos_audit (xid);
CREATE TABLE chaos_commit (
  seq bigserial PRIMARY KEY,
  xid bigint NOT NULL UNIQUE,
  clock bigint NOT NULL,
  writer int NOT NULL);

-- TG_ARGV[0] names the row id column, as the notify trigger picks it.
CREATE FUNCTION chaos_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chaos_audit (payload) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' ||
    (to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[0]));
  RETURN NULL;
END $$;
CREATE FUNCTION chaos_audit_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chaos_audit (payload) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':');
  RETURN NULL;
END $$;
`

// commitLock is the advisory lock key that orders the writers' commits.
const commitLock = 7_2_2024

// SetupSchema creates the NOTIFY soaks' schema and installs the library's
// triggers: row triggers on chaos_a and chaos_b, the per-statement one on
// chaos_s.
func SetupSchema(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, schemaSQL); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := trigger.Ensure(ctx, conn, "public", "chaos_a"); err != nil {
		return err
	}
	if err := trigger.Ensure(ctx, conn, "public", "chaos_b"); err != nil {
		return err
	}
	return trigger.Ensure(ctx, conn, "public", "chaos_s", trigger.PerStatement())
}

// ReadCommitted returns what the committed transactions owe the listeners,
// in commit order, folded as PostgreSQL folds notifications when fold is
// set (the WAL carries every change: no folding). It fails when an audit
// row has no commit row: a transaction wrote without the protocol.
func ReadCommitted(ctx context.Context, conn *pgx.Conn, fold bool) ([]Entry, error) {
	var orphans int
	if err := conn.QueryRow(ctx,
		`SELECT count(*) FROM chaos_audit a WHERE NOT EXISTS (SELECT 1 FROM chaos_commit c WHERE c.xid = a.xid)`).
		Scan(&orphans); err != nil {
		return nil, err
	}
	if orphans > 0 {
		return nil, fmt.Errorf("%d audit rows without a commit row", orphans)
	}
	rows, err := conn.Query(ctx, `
		SELECT c.seq, c.clock, a.payload
		FROM chaos_commit c JOIN chaos_audit a ON a.xid = c.xid
		ORDER BY c.seq, a.n`)
	if err != nil {
		return nil, err
	}
	var out []Entry
	var e Entry
	_, err = pgx.ForEachRow(rows, []any{&e.Seq, &e.Clock, &e.Payload}, func() error {
		e.Table = TableOf(e.Payload)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !fold {
		return out, nil
	}
	return Fold(out), nil
}

// TableOf returns the "schema.table" part of a payload.
func TableOf(payload string) string {
	for i := 0; i < len(payload); i++ {
		if payload[i] == ':' {
			return payload[:i]
		}
	}
	return payload
}
