package oracle

import (
	"context"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// PinnedSettings returns the session settings the oracle decodes under,
// as name-value pairs: the ones PostgreSQL's own subscriber pins, plus hex
// bytea, UTC and UTF-8 (pgx does not ask for UTF-8 by itself: in a LATIN1
// database its sessions get LATIN1 bytes). A WAL source that promises "the text PostgreSQL prints"
// must print under the same, whatever the role's or database's defaults
// say.
func PinnedSettings() [][2]string {
	return [][2]string{
		{"DateStyle", "ISO"},
		{"IntervalStyle", "postgres"},
		{"extra_float_digits", "3"},
		{"bytea_output", "hex"},
		{"TimeZone", "UTC"},
		{"client_encoding", "UTF8"},
	}
}

// Pin sets PinnedSettings in conn's session.
func Pin(ctx context.Context, conn *pgx.Conn) error {
	for _, s := range PinnedSettings() {
		// set_config takes the value as a parameter: nothing is spliced.
		if _, err := conn.Exec(ctx, `SELECT set_config($1, $2, false)`, s[0], s[1]); err != nil {
			return fmt.Errorf("oracle: pinning %s: %w", s[0], err)
		}
	}
	return nil
}

// CreateSlot creates a logical slot named slot with the test_decoding
// plugin on conn's database. Create it right before or after the slot of
// the source under test, with no write to a published table in between,
// so that both start at the same point.
func CreateSlot(ctx context.Context, conn *pgx.Conn, slot string) error {
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, slot); err != nil {
		return fmt.Errorf("oracle: creating slot %q: %w", slot, err)
	}
	return nil
}

// Record is one row of the oracle's output: where it is in the WAL, its
// transaction and the parsed line.
type Record struct {
	// LSN is the row's position as pg_logical_slot_get_changes reports
	// it: the record's start for a change, the end of the commit record
	// for COMMIT.
	LSN uint64
	// Xid is the transaction's id.
	Xid uint32
	// Line is the raw text, for reports.
	Line   string
	Change Change
}

// ReadSlot pins conn's session (see Pin) and consumes everything slot
// holds, with include-xids off and skip-empty-xacts on. It parses every
// line; a line that does not parse is an error.
func ReadSlot(ctx context.Context, conn *pgx.Conn, slot string) ([]Record, error) {
	if err := Pin(ctx, conn); err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, `SELECT lsn::text, xid::text::bigint, data
		FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')`, slot)
	if err != nil {
		return nil, fmt.Errorf("oracle: reading slot %q: %w", slot, err)
	}
	var recs []Record
	for rows.Next() {
		var lsn string
		var xid int64
		var r Record
		if err := rows.Scan(&lsn, &xid, &r.Line); err != nil {
			rows.Close()
			return nil, fmt.Errorf("oracle: reading slot %q: %w", slot, err)
		}
		l, err := pglogrepl.ParseLSN(lsn)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("oracle: slot %q: lsn %q: %w", slot, lsn, err)
		}
		r.LSN, r.Xid = uint64(l), uint32(xid)
		if r.Change, err = ParseChange(r.Line); err != nil {
			rows.Close()
			return nil, err
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("oracle: reading slot %q: %w", slot, err)
	}
	return recs, nil
}

// DropSlot drops slot if it exists.
func DropSlot(ctx context.Context, conn *pgx.Conn, slot string) error {
	_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
	if err != nil {
		return fmt.Errorf("oracle: dropping slot %q: %w", slot, err)
	}
	return nil
}
