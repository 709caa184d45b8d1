package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Leftovers is what the other change source left in the database when an
// application switches modes (see FindLeftovers). Both cost something:
// an unused slot retains WAL without bound and keeps PostgreSQL from
// starting with a wal_level below logical; triggers make every write
// notify, for nobody.
type Leftovers struct {
	// Slot is set in NOTIFY mode when the replication slot WAL mode uses
	// (Config.WAL.Slot, default "phoenixkitdb") exists in this database and
	// nothing streams from it. Remove it with replication.DropSlot.
	Slot string
	// SlotRetainedBytes is the WAL that Slot keeps from being removed;
	// -1 when the server cannot say (a standby).
	SlotRetainedBytes int64
	// Triggered are, in WAL mode, the tables of the publication
	// (Config.WAL.Publication, default "phoenixkitdb") that carry a change
	// trigger. Remove them with trigger.Remove (or trigger.RemoveAll),
	// once no instance runs in NOTIFY mode any more.
	Triggered []pgsql.Table
}

// Empty reports whether nothing is left.
func (l Leftovers) Empty() bool { return l.Slot == "" && len(l.Triggered) == 0 }

// leftoverSlotSQL finds slot in the current database unless a walsender
// streams from it, with the WAL it retains (NULL on a standby).
const leftoverSlotSQL = `SELECT CASE WHEN pg_catalog.pg_is_in_recovery() OR restart_lsn IS NULL THEN -1
	ELSE pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint END
FROM pg_catalog.pg_replication_slots
WHERE slot_name = $1 AND database = pg_catalog.current_database() AND NOT active`

// FindLeftovers reports what the change source cfg does not choose left
// in the database q is connected to: in NOTIFY mode, the WAL source's
// slot (cfg.WAL.Slot) when nothing streams from it; in WAL mode, change
// triggers on the tables of the publication (cfg.WAL.Publication). It reads
// the catalog only (one or two queries) and changes nothing; the role
// needs no privilege beyond connecting. cfg is not validated beyond what
// the queries need; its connection settings are not used.
func FindLeftovers(ctx context.Context, q pgsql.Querier, cfg Config) (Leftovers, error) {
	var l Leftovers
	if cfg.Source == SourceWAL {
		publication := cfg.WAL.Publication
		if publication == "" {
			publication = replication.DefaultPublication
		}
		triggered, err := trigger.List(ctx, q)
		if err != nil || len(triggered) == 0 {
			return l, err
		}
		published, err := replication.ListPublishedTables(ctx, q, publication)
		if err != nil {
			return l, err
		}
		in := make(map[pgsql.Table]bool, len(published))
		for _, t := range published {
			in[t] = true
		}
		for _, t := range triggered {
			if in[t] {
				l.Triggered = append(l.Triggered, t)
			}
		}
		return l, nil
	}
	slot := cfg.WAL.Slot
	if slot == "" {
		slot = replication.DefaultSlot
	}
	err := q.QueryRow(ctx, leftoverSlotSQL, slot).Scan(&l.SlotRetainedBytes)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Leftovers{}, nil
	case err != nil:
		return Leftovers{}, fmt.Errorf("phoenixkitdb: find leftovers: %w", err)
	}
	l.Slot = slot
	return l, nil
}

// leftoverCheckTimeout bounds Start's look for leftovers.
const leftoverCheckTimeout = 2 * time.Second

// logLeftovers looks for what the other change source left (see
// FindLeftovers) over a short-lived connection of its own and logs what
// it finds once, naming the API call that removes it: WARN for a slot,
// which retains WAL, INFO for triggers, which another instance still in
// NOTIFY mode may need. A look that fails is logged at DEBUG only: it is
// advice, and the change source reports connection trouble itself.
func logLeftovers(ctx context.Context, cfg Config, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, leftoverCheckTimeout)
	defer cancel()
	var (
		conn *pgx.Conn
		err  error
	)
	if lc := cfg.listenerConfig(); cfg.Source == SourceNotify && lc.ConnString == "" && lc.Connect != nil {
		conn, err = lc.Connect(ctx)
	} else if cfg.Source == SourceNotify {
		conn, err = pgx.Connect(ctx, lc.ConnString)
	} else {
		conn, err = pgx.Connect(ctx, cfg.walConfig().ConnString)
	}
	if err != nil {
		logger.Debug("phoenixkitdb: looking for what another change source left: connect failed", "err", err)
		return
	}
	defer func() { _ = conn.Close(context.Background()) }()
	l, err := FindLeftovers(ctx, conn, cfg)
	if err != nil {
		logger.Debug("phoenixkitdb: looking for what another change source left failed", "err", err)
		return
	}
	if l.Slot != "" {
		logger.Warn("phoenixkitdb: replication slot left by WAL mode, unused in NOTIFY mode: it retains WAL and "+
			"keeps PostgreSQL from starting with wal_level below logical; unless you will switch back, drop it "+
			"with replication.DropSlot (or SELECT pg_drop_replication_slot(name))",
			"slot", l.Slot, "retained_bytes", l.SlotRetainedBytes)
	}
	if len(l.Triggered) > 0 {
		names := make([]string, len(l.Triggered))
		for i, t := range l.Triggered {
			names[i] = t.Quoted()
		}
		logger.Info("phoenixkitdb: change triggers left by NOTIFY mode on tables the WAL source streams: they notify "+
			"for nobody and cost every write; once no instance runs in NOTIFY mode, remove them with "+
			"trigger.Remove (or trigger.RemoveAll)", "tables", names)
	}
}
