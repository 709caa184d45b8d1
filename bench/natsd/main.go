// Command natsd runs the embedded NATS server (JetStream) of the bench's
// cluster section in a process of its own.
//
// Importing the NATS server starts a once-a-second process sampler in
// every program that links it (its pse package reads /proc from an init
// function), and those allocations would be counted by the fan-out
// section's allocations per publication, which reads the process's
// allocation counter. So the bench links only the NATS client and runs
// the server here: it prints the client URL on its first line of stdout,
// serves until its stdin is closed (the bench exited or is done with it),
// then shuts down.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	store := flag.String("store", "", "JetStream store directory (required)")
	flag.Parse()
	if *store == "" {
		fmt.Fprintln(os.Stderr, "natsd: -store is required")
		os.Exit(2)
	}
	ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: *store, Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		fmt.Fprintln(os.Stderr, "natsd: not ready within 30 s")
		os.Exit(1)
	}
	fmt.Println(ns.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ns.Shutdown()
	ns.WaitForShutdown()
}
