//go:build chaos

package chaos_test

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// connectWriter opens a direct connection for writing (see
// chaos.ConnectWriter).
func connectWriter(ctx context.Context, dbURL, appName string) (*pgx.Conn, error) {
	return chaos.ConnectWriter(ctx, dbURL, appName)
}

// commitFence commits the last change of the run (see chaos.CommitFence).
func commitFence(ctx context.Context, dbURL string, clock *atomic.Int64) ([]string, error) {
	return chaos.CommitFence(ctx, dbURL, clock)
}

// closeConn closes a connection within a bounded time.
func closeConn(conn *pgx.Conn) { chaos.CloseConn(conn) }
