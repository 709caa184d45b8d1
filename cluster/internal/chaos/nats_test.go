//go:build chaos

package chaos_test

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds a NATS server's start.
const natsReadyTimeout = 30 * time.Second

// natsServer is the soak's embedded NATS server: JetStream with file
// storage in a directory of its own, listening on a loopback port that a
// restart keeps, so that the instances' proxies stay valid.
type natsServer struct {
	dir string

	mu   sync.Mutex
	ns   *server.Server
	port int
}

// startNATS starts a server on a free port, storing in dir.
func startNATS(dir string) (*natsServer, error) {
	n := &natsServer{dir: dir, port: -1}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *natsServer) start() error {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		return fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(natsReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("nats server on port %d not ready within %v", n.port, natsReadyTimeout)
	}
	_, port, err := net.SplitHostPort(ns.Addr().String())
	if err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return err
	}
	n.port, _ = strconv.Atoi(port)
	n.ns = ns
	return nil
}

// Addr returns "127.0.0.1:PORT".
func (n *natsServer) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port))
}

// restart shuts the server down, waits down, and starts it again on the
// same port and store, retrying while the port is not free yet.
func (n *natsServer) restart(down time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
	time.Sleep(down)
	var err error
	for range 5 {
		if err = n.start(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// Close shuts the server down and waits for it.
func (n *natsServer) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
}
