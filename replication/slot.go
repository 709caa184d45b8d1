package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// slotState is what one query on a fresh replication connection tells
// about the server, the publication and the slot.
type slotState struct {
	walLevel   string
	pubExists  bool
	exists     bool
	ours       bool // same database, pgoutput
	temporary  bool
	activePID  uint32
	walStatus  string
	confirmed  pglogrepl.LSN
	currentLSN pglogrepl.LSN
	// serverVersion is server_version_num, such as 150004.
	serverVersion int
}

// quoteLiteral quotes s as an escape string literal, which reads the same
// whatever standard_conforming_strings says. The replication protocol
// takes simple queries only, so values cannot travel as parameters.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteOption quotes s as a string in a replication command, whose
// lexer knows standard strings only: a quote is doubled, a backslash is
// an ordinary character.
func quoteOption(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdent quotes s as an identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// readState queries the server's wal_level, the publication and the slot.
// A standby (PostgreSQL 16 decodes there) has no current WAL position of
// its own: its position is the last one replayed.
func readState(ctx context.Context, conn *pgconn.PgConn, slot, publication string) (slotState, error) {
	sql := `SELECT current_setting('wal_level'),
	EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = ` + quoteLiteral(publication) + `),
	s.slot_name IS NOT NULL,
	COALESCE(s.database = current_database() AND s.plugin = 'pgoutput', false),
	COALESCE(s.temporary, false),
	COALESCE(s.active_pid, 0),
	COALESCE(s.wal_status, ''),
	COALESCE(s.confirmed_flush_lsn::text, '0/0'),
	CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text,
	current_setting('server_version_num')
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_replication_slots AS s ON s.slot_name = ` + quoteLiteral(slot)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return slotState{}, fmt.Errorf("replication: reading the slot's state: %w", err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 10 {
		return slotState{}, errors.New("replication: reading the slot's state: unexpected result")
	}
	row := res[0].Rows[0]
	var st slotState
	st.walLevel = string(row[0])
	st.pubExists = string(row[1]) == "t"
	st.exists = string(row[2]) == "t"
	st.ours = string(row[3]) == "t"
	st.temporary = string(row[4]) == "t"
	pid, err := strconv.ParseUint(string(row[5]), 10, 32)
	if err != nil {
		return slotState{}, fmt.Errorf("replication: reading the slot's state: active_pid: %w", err)
	}
	st.activePID = uint32(pid)
	st.walStatus = string(row[6])
	if st.confirmed, err = pglogrepl.ParseLSN(string(row[7])); err != nil {
		return slotState{}, fmt.Errorf("replication: reading the slot's state: %w", err)
	}
	if st.currentLSN, err = pglogrepl.ParseLSN(string(row[8])); err != nil {
		return slotState{}, fmt.Errorf("replication: reading the slot's state: %w", err)
	}
	if st.serverVersion, err = strconv.Atoi(string(row[9])); err != nil {
		return slotState{}, fmt.Errorf("replication: reading the slot's state: server_version_num: %w", err)
	}
	return st, nil
}

// createSlot creates the slot on conn, which must be fresh: after a failed
// START_REPLICATION, PostgreSQL 15 answers CREATE_REPLICATION_SLOT on the
// same connection with no result set. It returns the slot's consistent
// point. A slot that exists already (another Source raced us) is not an
// error; the position is then that slot's confirmed one, read afresh (0
// while its creator still builds it), so that LagBytes does not count
// the whole WAL.
func createSlot(ctx context.Context, conn *pgconn.PgConn, slot string, temporary bool) (pglogrepl.LSN, error) {
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Temporary:      temporary,
		SnapshotAction: "NOEXPORT_SNAPSHOT",
		Mode:           pglogrepl.LogicalReplication,
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42710" {
			return slotConfirmed(ctx, conn, slot)
		}
		return 0, fmt.Errorf("replication: creating slot %s: %w", slot, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return 0, fmt.Errorf("replication: creating slot %s: %w", slot, err)
	}
	return lsn, nil
}

// slotConfirmed reads slot's confirmed_flush_lsn, 0 when there is none.
func slotConfirmed(ctx context.Context, conn *pgconn.PgConn, slot string) (pglogrepl.LSN, error) {
	res, err := conn.Exec(ctx, `SELECT COALESCE((SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots
	WHERE slot_name = `+quoteLiteral(slot)+`), '0/0')`).ReadAll()
	if err == nil && (len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 1) {
		err = errors.New("unexpected result")
	}
	if err != nil {
		return 0, fmt.Errorf("replication: reading the position of slot %s: %w", slot, err)
	}
	return pglogrepl.ParseLSN(string(res[0].Rows[0][0]))
}

// MinServerVersion is the oldest PostgreSQL major version the Source
// supports, and the oldest the publication functions accept. 13 reached its end
// of life in November 2025, and its pgoutput lacks the messages, streaming
// and binary options.
const MinServerVersion = 14

// checkServerVersion refuses a server older than MinServerVersion, as the
// server_version it reported at connection time says. A version it cannot
// read (a proxy that hides it) passes: the queries that follow then fail
// on their own.
func checkServerVersion(conn *pgconn.PgConn) error {
	v := conn.ParameterStatus("server_version")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	major, err := strconv.Atoi(v[:end])
	if err != nil || major >= MinServerVersion {
		return nil
	}
	return fmt.Errorf("%w: the server runs PostgreSQL %s, the Source needs %d or later", ErrUnsupportedServer, v, MinServerVersion)
}

// dropSlot drops an inactive slot on conn.
func dropSlot(ctx context.Context, conn *pgconn.PgConn, slot string) error {
	if err := pglogrepl.DropReplicationSlot(ctx, conn, slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
		return fmt.Errorf("replication: dropping lost slot %s: %w", slot, err)
	}
	return nil
}

// startStream sends START_REPLICATION for slot from the slot's confirmed
// position with pgoutput protocol version 1 (whole transactions, sent
// after they commit), asking for logical decoding messages when messages
// is set (PostgreSQL 14+). An active slot gives a *slotBusyError.
func startStream(ctx context.Context, conn *pgconn.PgConn, slot, publication string, messages bool) error {
	args := []string{
		"proto_version '1'",
		"publication_names " + quoteOption(quoteIdent(publication)),
	}
	if messages {
		args = append(args, "messages 'true'")
	}
	err := pglogrepl.StartReplication(ctx, conn, slot, 0, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: args,
	})
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55006" {
		return &slotBusyError{pid: pidIn(pgErr.Message)}
	}
	return fmt.Errorf("replication: START_REPLICATION: %w", err)
}

// pidIn returns the number after "PID " in msg (PostgreSQL's "replication
// slot ... is active for PID 123"), 0 if there is none.
func pidIn(msg string) uint32 {
	_, rest, ok := strings.Cut(msg, "PID ")
	if !ok {
		return 0
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.ParseUint(rest[:end], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// terminateHolder ends the backend pid that holds slot
// (Config.TakeOverSlot); the caller retries, and the slot is free once the
// backend has gone. A refusal (the role may not signal that backend) is
// logged as a WARN naming the privilege.
func terminateHolder(ctx context.Context, conn *pgconn.PgConn, slot string, pid uint32, log *slog.Logger) {
	log.Warn("replication: the slot is active for another backend; ending it (TakeOverSlot)", "slot", slot, "pid", pid)
	_, err := conn.Exec(ctx, "SELECT pg_terminate_backend("+strconv.FormatUint(uint64(pid), 10)+")").ReadAll()
	if err != nil {
		log.Warn("replication: cannot end the backend that holds the slot; waiting for it to go (grant the role pg_signal_backend, or use the walsender's role)",
			"slot", slot, "pid", pid, "err", err)
	}
}
