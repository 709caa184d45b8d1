package phoenixkitdb_test

import (
	"context"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/thejerf/suture/v4"
)

// clock is a toy module with one child service.
type clock struct{ ticks chan string }

func (c *clock) Key() string     { return "clock" }
func (c *clock) Name() string    { return "Clock" }
func (c *clock) Version() string { return "1.0.0" }
func (c *clock) Children() []suture.Service {
	return []suture.Service{suture.Service(c)}
}
func (c *clock) Serve(ctx context.Context) error {
	c.ticks <- "started"
	<-ctx.Done()
	c.ticks <- "stopped"
	return ctx.Err()
}

func ExampleRegistry() {
	sup := suture.NewSimple("app")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sup.ServeBackground(ctx)

	reg := phoenixkitdb.NewRegistry(sup, quietLogger())
	c := &clock{ticks: make(chan string, 2)}
	if err := reg.Register(c); err != nil {
		panic(err)
	}

	_ = reg.Enable("clock")
	fmt.Println(<-c.ticks, reg.Enabled("clock"))

	_ = reg.Disable("clock") // returns once the child has stopped
	fmt.Println(<-c.ticks, reg.Enabled("clock"))
	// Output:
	// started true
	// stopped false
}
