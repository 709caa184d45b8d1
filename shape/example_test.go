package shape_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/thejerf/suture/v4"
)

// ExampleManager_Subscribe keeps the open orders of one customer: the
// snapshot's rows, then exactly the changes that keep them equal to
// PostgreSQL's SELECT. changes is the DB module's PubSub in WAL mode.
func ExampleManager_Subscribe() {
	ctx := context.Background()
	var (
		pool    *pgxpool.Pool      // pgxpool.New(ctx, url)
		changes *pubsub.PubSub     // db.Changes() of a DB module in WAL mode
		sup     *suture.Supervisor // the host's supervisor
	)
	m, err := shape.New(shape.Config{Pool: pool, Changes: changes})
	if err != nil {
		log.Fatal(err)
	}
	sup.Add(m) // the Manager runs as a service of the host's tree
	sub, err := m.Subscribe(ctx, shape.Definition{
		Schema:  "demo",
		Table:   "orders",
		Where:   "status = 'open' AND customer_id = $1",
		Params:  []string{"42"},
		Columns: []string{"id", "total"},
	})
	if err != nil {
		log.Fatal(err) // a refused clause names the construct and its position
	}
	defer sub.Close()
	rows := map[string]*pubsub.Row{}
	for msg := range sub.C() {
		switch msg.Kind {
		case shape.Insert, shape.Update:
			rows[msg.Key] = msg.Row // see Update for unchanged TOASTed columns
		case shape.Delete:
			delete(rows, msg.Key)
		case shape.Reset:
			clear(rows) // a fresh snapshot follows
		case shape.UpToDate:
			fmt.Println(len(rows), "open orders")
		}
	}
}
