package phoenixkitdb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ExampleStart runs the DB module without a supervisor of the
// application's: Start returns once changes flow, and Close stops
// everything it started.
func ExampleStart() {
	ctx := context.Background()
	db, err := phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: os.Getenv("DATABASE_URL")})
	if err != nil {
		fmt.Println(err) // a connection string that does not parse, or a database not reached in 30 s
		return
	}
	defer db.Close()

	mb := pubsub.NewMailbox(256)
	defer mb.Close()
	if err := db.Subscribe(mb, "public", "orders"); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range mb.C() {
		fmt.Println(ev.Kind, ev.Operation, ev.RowID) // reload on pubsub.Resync
	}
}
