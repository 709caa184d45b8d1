package cluster_test

import (
	"log"

	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// Every instance of the app runs the same code: the cluster module takes
// the DB module's place in the Registry, and subscribers do not change.
func ExampleNew() {
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://app@db.internal/app"})
	if err != nil {
		log.Fatal(err)
	}
	cl, err := cluster.New(cluster.Config{
		URL:         "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222",
		Replicas:    3,
		NATSOptions: []nats.Option{nats.UserCredentials("/etc/app/nats.creds")},
	}, db)
	if err != nil {
		log.Fatal(err)
	}
	sup := suture.NewSimple("app")
	reg := phoenixkitdb.NewRegistry(sup, nil)
	if err := reg.Register(cl); err != nil { // instead of db
		log.Fatal(err)
	}
	if err := reg.Enable("db"); err != nil {
		log.Fatal(err)
	}
	mb := pubsub.NewMailbox(0)
	if err := db.Changes().Subscribe(mb, "public", "orders"); err != nil {
		log.Fatal(err)
	}
	// Run sup (sup.ServeBackground(ctx)), then read mb.C() as without
	// the cluster module.
}
