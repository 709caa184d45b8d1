//go:build chaos

package chaos_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// The soak's tables (see chaos.TableA).
const (
	tableA = chaos.TableA
	tableB = chaos.TableB
	tableS = chaos.TableS
)

// setupSchema creates the schema and installs the library's triggers.
func setupSchema(ctx context.Context, conn *pgx.Conn) error { return chaos.SetupSchema(ctx, conn) }

// readCommitted returns what the committed transactions owe the
// listeners (see chaos.ReadCommitted).
func readCommitted(ctx context.Context, conn *pgx.Conn, fold bool) ([]chaos.Entry, error) {
	return chaos.ReadCommitted(ctx, conn, fold)
}
