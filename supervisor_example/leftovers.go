package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lmittmann/tint"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Switching modes leaves things behind: after WAL mode, an unused slot
// retains WAL and keeps PostgreSQL from starting with wal_level=replica;
// after NOTIFY mode, triggers keep notifying for nobody. At start the app
// says what is left (phoenixkitdb.FindLeftovers) and which flag removes
// it: -drop-slot and -remove-triggers each do that one thing on the
// database named by -database-url, then exit.

// logLeftovers logs what the other change source left in the database,
// once, with the flag and the API call that remove it. A failed look is
// logged at DEBUG: it is advice, not a reason to stop.
func logLeftovers(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, cfg phoenixkitdb.Config) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l, err := phoenixkitdb.FindLeftovers(ctx, pool, cfg)
	if err != nil {
		logger.Debug("leftover: looking for what the other change source left failed", tint.Err(err))
		return
	}
	if l.Slot != "" {
		logger.Warn("leftover: replication slot from WAL mode, unused in NOTIFY mode: it retains WAL and keeps "+
			"PostgreSQL from starting with wal_level below logical; unless you will switch back, run once with "+
			"-drop-slot (or call replication.DropSlot)", "slot", l.Slot, "retained_bytes", l.SlotRetainedBytes)
	}
	if len(l.Triggered) > 0 {
		logger.Info("leftover: change triggers from NOTIFY mode on tables the WAL source streams: they notify for "+
			"nobody and cost every write; once no instance runs in NOTIFY mode, run once with -remove-triggers "+
			"(or call trigger.Remove)", "tables", tableNames(l.Triggered), "publication", cfg.WAL.Publication)
	}
}

// cleanUp does what -drop-slot and -remove-triggers ask on the database
// at url, logs what it did, and returns; the program then exits.
// -remove-triggers removes the change triggers of the -watch tables, or
// without -watch those on the tables of -publication (what the leftover
// line names).
func cleanUp(ctx context.Context, opts options, logger *slog.Logger) error {
	pool, err := openPool(ctx, opts.databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if opts.dropSlot {
		// DropSlot says nothing about a slot that does not exist: look first.
		var existed bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`, opts.slot).Scan(&existed); err != nil {
			return fmt.Errorf("supervisor_example: -drop-slot: %w", err)
		}
		if err := replication.DropSlot(ctx, pool, opts.slot); err != nil {
			return fmt.Errorf("supervisor_example: -drop-slot: %w", err)
		}
		if existed {
			logger.Info("-drop-slot: replication slot dropped", "slot", opts.slot)
		} else {
			logger.Info("-drop-slot: no such replication slot; nothing to drop", "slot", opts.slot)
		}
	}
	if opts.removeTriggers {
		tables := make([]pgsql.Table, len(opts.watch))
		for i, w := range opts.watch {
			tables[i] = pgsql.Table{Schema: w.Schema, Name: w.Table}
		}
		if len(tables) == 0 {
			l, err := phoenixkitdb.FindLeftovers(ctx, pool, phoenixkitdb.Config{Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Publication: opts.publication}})
			if err != nil {
				return fmt.Errorf("supervisor_example: -remove-triggers: %w", err)
			}
			tables = l.Triggered
		}
		for _, t := range tables {
			if err := trigger.Remove(ctx, pool, t.Schema, t.Name); err != nil {
				return fmt.Errorf("supervisor_example: -remove-triggers: %w", err)
			}
		}
		logger.Info("-remove-triggers: change triggers removed", "tables", tableNames(tables))
	}
	return nil
}

// tableNames spells tables as schema.table for a log line.
func tableNames(tables []pgsql.Table) []string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Schema + "." + t.Name
	}
	return names
}
