package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// WAL mode (-source=wal) watches tables through a publication instead of
// triggers: -watch and -demo add their tables to it with
// replication.EnsurePublication, and the app logs what that changed, as it
// does for triggers. No trigger is installed in WAL mode: the WAL already
// holds every change, so writers pay nothing extra.

// installPublication ensures publication holds tables (creating it when
// missing) and logs exactly what that changed: the publication created,
// each table added, or that everything was already in place. Tables must
// exist.
func installPublication(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, publication string, tables []watchTable) error {
	if len(tables) == 0 {
		return nil
	}
	existed, err := publicationExists(ctx, pool, publication)
	if err != nil {
		return fmt.Errorf("supervisor_example: publication %q: %w", publication, err)
	}
	before, err := replication.ListPublishedTables(ctx, pool, publication)
	if err != nil {
		return fmt.Errorf("supervisor_example: publication %q: %w", publication, err)
	}
	want := make([]pgsql.Table, len(tables))
	for i, t := range tables {
		want[i] = pgsql.Table{Schema: t.Schema, Name: t.Table}
	}
	if err := replication.EnsurePublication(ctx, pool, publication, want...); err != nil {
		return fmt.Errorf("supervisor_example: %w", err)
	}
	if !existed {
		logger.Info("watch: created publication", "publication", publication)
	}
	for _, t := range tables {
		if slices.Contains(before, pgsql.Table{Schema: t.Schema, Name: t.Table}) {
			logger.Info("watch: table already in the publication; nothing written", "table", t.String(), "publication", publication)
			continue
		}
		logger.Info("watch: added to publication", "table", t.String(), "publication", publication)
	}
	return nil
}

// publicationExists reports whether publication exists.
func publicationExists(ctx context.Context, pool *pgxpool.Pool, publication string) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, publication).Scan(&ok)
	return ok, err
}
