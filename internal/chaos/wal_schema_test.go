//go:build chaos

package chaos_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// walPublication publishes the soak's three tables to the WAL Sources.
const walPublication = chaos.WALPublication

// walStatements are the writers' statements in the WAL soak.
var walStatements = chaos.WALStatements

// setupWALSchema creates the WAL soak's schema and publication.
func setupWALSchema(ctx context.Context, conn *pgx.Conn) error {
	return chaos.SetupWALSchema(ctx, conn)
}

// slotsConfirmed reports whether every slot has confirmed lsn or later.
func slotsConfirmed(ctx context.Context, dbURL string, slots []string, lsn string) (behind []string, ok bool) {
	return chaos.SlotsConfirmed(ctx, dbURL, slots, lsn)
}
