package phoenixkitdb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
)

// ExampleEnsureTrigger installs the notify trigger on public.orders, as
// PhoenixKit would, so every committed write sends
// "public.orders:INSERT:<uuid or id>" on channel phoenix_kit_db_changes.
func ExampleEnsureTrigger() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	if err := phoenixkitdb.EnsureTrigger(ctx, pool, "public", "orders"); err != nil {
		fmt.Println(err)
		return
	}
	// A bulk-loaded table: one notification per statement, without row ids.
	if err := phoenixkitdb.EnsureTrigger(ctx, pool, "public", "events", phoenixkitdb.PerStatement()); err != nil {
		fmt.Println(err)
		return
	}
	tables, err := phoenixkitdb.ListTriggeredTables(ctx, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range tables {
		fmt.Printf("%s.%s\n", t.Schema, t.Name)
	}
}
