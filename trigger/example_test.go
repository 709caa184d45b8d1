package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// ExampleEnsure installs the notify trigger on public.orders, as
// PhoenixKit would, so every committed write sends
// "public.orders:INSERT:<uuid or id>" on channel phoenix_kit_db_changes.
func ExampleEnsure() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	if err := trigger.Ensure(ctx, pool, "public", "orders"); err != nil {
		fmt.Println(err)
		return
	}
	// A bulk-loaded table: one notification per statement, without row ids.
	if err := trigger.Ensure(ctx, pool, "public", "events", trigger.PerStatement()); err != nil {
		fmt.Println(err)
		return
	}
	tables, err := trigger.List(ctx, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range tables {
		fmt.Printf("%s.%s\n", t.Schema, t.Name)
	}
}

// ExampleWithLockTimeout installs a trigger on a busy table without ever
// making its writers queue for more than two seconds: when a long
// transaction holds the table, the call gives up (changing nothing) and is
// retried later.
func ExampleWithLockTimeout() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	for attempt := 1; attempt <= 5; attempt++ {
		err = trigger.Ensure(ctx, pool, "public", "orders", trigger.WithLockTimeout(2*time.Second))
		if !errors.Is(err, pgsql.ErrLockTimeout) {
			break
		}
		time.Sleep(time.Duration(attempt) * 10 * time.Second) // let the long transaction end
	}
	switch {
	case errors.Is(err, trigger.ErrUntrustedFunction):
		fmt.Println("another role owns the notify functions:", err)
	case err != nil:
		fmt.Println(err)
	}
}
