//go:build chaos

package chaos_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// connectWriter opens a direct connection for writing (see
// chaos.ConnectWriter).
func connectWriter(ctx context.Context, dbURL, appName string) (*pgx.Conn, error) {
	return chaos.ConnectWriter(ctx, dbURL, appName)
}

// closeConn closes a connection within a bounded time.
func closeConn(conn *pgx.Conn) { chaos.CloseConn(conn) }
