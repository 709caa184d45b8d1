package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// failoverVersion is the first server_version_num with failover slots
// (CREATE_REPLICATION_SLOT ... FAILOVER, sync_replication_slots).
const failoverVersion = 170000

// useFailover reports whether this connection's slot is to be a failover
// slot: Config.FailoverSlot on a server that has them. On an older one it
// logs a WARN, once per Source, and the slot is an ordinary one.
func (ss *session) useFailover(st slotState) bool {
	s := ss.s
	if !s.cfg.FailoverSlot {
		return false
	}
	if st.serverVersion >= failoverVersion {
		return true
	}
	if s.failoverWarned.CompareAndSwap(false, true) {
		s.log.Warn("replication: FailoverSlot is set, but the server is older than PostgreSQL 17 and has no failover slots: the slot is an ordinary one, which a promoted standby does not have (a failover then costs every mailbox a Resync)",
			"slot", s.cfg.Slot, "server_version", st.serverVersion)
	}
	return false
}

// newSlot creates the session's slot: temporary, or persistent and a
// failover slot when the session decided so (ss.failover).
func (ss *session) newSlot(ctx context.Context, temporary bool) (pglogrepl.LSN, error) {
	if temporary || !ss.failover {
		return createSlot(ctx, ss.conn, ss.s.cfg.Slot, temporary)
	}
	return createFailoverSlot(ctx, ss.conn, ss.s.cfg.Slot)
}

// createFailoverSlot creates the persistent slot as a failover slot,
// with createSlot's handling of a lost race.
func createFailoverSlot(ctx context.Context, conn *pgconn.PgConn, slot string) (pglogrepl.LSN, error) {
	// pglogrepl has no FAILOVER option; the option list form exists from
	// PostgreSQL 15 on, so it is safe on 17. validSlot keeps the name
	// free of anything that would need quoting.
	res, err := conn.Exec(ctx, "CREATE_REPLICATION_SLOT "+slot+" LOGICAL pgoutput (SNAPSHOT 'nothing', FAILOVER true)").ReadAll()
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42710" {
			return slotConfirmed(ctx, conn, slot)
		}
		return 0, fmt.Errorf("replication: creating failover slot %s: %w", slot, err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) < 2 {
		return 0, fmt.Errorf("replication: creating failover slot %s: unexpected result", slot)
	}
	lsn, err := pglogrepl.ParseLSN(string(res[0].Rows[0][1]))
	if err != nil {
		return 0, fmt.Errorf("replication: creating failover slot %s: %w", slot, err)
	}
	return lsn, nil
}

// makeFailover turns the existing, inactive slot into a failover slot
// when it is not one yet (a slot created before FailoverSlot was set, or
// by another program). It reports whether it changed the slot.
func makeFailover(ctx context.Context, conn *pgconn.PgConn, slot string) (bool, error) {
	res, err := conn.Exec(ctx, `SELECT COALESCE((SELECT failover FROM pg_catalog.pg_replication_slots
	WHERE slot_name = `+quoteLiteral(slot)+`), true)`).ReadAll()
	if err == nil && (len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 1) {
		err = errors.New("unexpected result")
	}
	if err != nil {
		return false, fmt.Errorf("replication: reading whether slot %s is a failover slot: %w", slot, err)
	}
	if string(res[0].Rows[0][0]) == "t" {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "ALTER_REPLICATION_SLOT "+slot+" (FAILOVER true)").ReadAll(); err != nil {
		return false, fmt.Errorf("replication: making slot %s a failover slot: %w", slot, err)
	}
	return true, nil
}

// slotGone logs the ERROR for a persistent slot that existed in an
// earlier session and is missing now, saying the two ways that happens:
// someone dropped it, or the Source now reaches a promoted standby that
// had no synchronised copy of it. The server's timeline (from this
// connection's IDENTIFY_SYSTEM) tells which is likely: a promotion starts
// a new one.
func (ss *session) slotGone(st slotState) {
	s := ss.s
	s.log.Error("replication: the slot is gone: dropped, or this server is a promoted standby without a synchronised copy of it (a failover slot needs PostgreSQL 17, Config.FailoverSlot and the settings in docs/replication.md, Failover); changes since are gone: recreating it and sending every mailbox a Resync",
		"slot", s.cfg.Slot, "reason", pubsub.ReasonSlot, "server_version", st.serverVersion,
		"failover_slot", s.cfg.FailoverSlot, "timeline", ss.identity.timeline)
}
