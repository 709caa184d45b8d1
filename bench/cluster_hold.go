package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// heldProbeInterval is the Listener's ProbeInterval (default 5 s) on the
// instances of section 8's burst part, which read PostgreSQL through a
// proxy that holds their traffic while a burst is written (holdFor). A
// held connection reads nothing for as long as the write takes (seconds);
// with the default, the Listener would find it silent for a probe's
// interval, replace it and send a Resync, and the held burst would be
// lost. The probe interval matters only on a silent connection: the
// latency rounds run on instances with the default.
const heldProbeInterval = time.Minute

// holdFor bounds a hold: a write that takes longer fails the round
// rather than risk the Listener's probe.
const holdFor = heldProbeInterval / 3

// holds is one proxy per database of section 8's burst part, by the
// database's URL, between the instances and PostgreSQL; the writers
// connect directly.
type holds map[string]*pgtest.Proxy

// newHolds starts a proxy to the server of each database.
func newHolds(dbURLs ...string) (holds, error) {
	h := holds{}
	for _, u := range dbURLs {
		p, err := proxyTo(u)
		if err != nil {
			h.close()
			return nil, err
		}
		h[u] = p
	}
	return h, nil
}

// proxyTo starts a proxy to dbURL's host and port.
func proxyTo(dbURL string) (*pgtest.Proxy, error) {
	u, err := url.Parse(dbURL)
	if err != nil || u.Port() == "" {
		return nil, errors.New("the held burst needs a database URL with a TCP host and port")
	}
	return pgtest.NewProxy(u.Host)
}

// close stops the proxies, cutting their connections.
func (h holds) close() {
	for _, p := range h {
		_ = p.Close()
	}
}

// hold holds g's traffic through p, runs write, checks that none of the
// armed rows reached a mailbox meanwhile, and returns the moment it lets
// the traffic flow again. PostgreSQL queues the notifications of what was
// committed in its notification queue and the sockets' buffers meanwhile:
// NOTIFY is delivered in commit order whenever the listening session can
// send. On an error the traffic flows again too.
func hold(ctx context.Context, p *pgtest.Proxy, g *group, write func() error) (time.Time, error) {
	p.Freeze()
	released := false
	defer func() {
		if !released {
			p.Thaw()
		}
	}()
	t0 := time.Now()
	if err := write(); err != nil {
		return time.Time{}, err
	}
	if took := time.Since(t0); took > holdFor {
		return time.Time{}, fmt.Errorf("the write took %v with reading held, more than %v: the Listener's probe (%v) may replace the connection",
			took.Round(time.Millisecond), holdFor, heldProbeInterval)
	}
	for i, a := range g.ins {
		if got := a.s.count.Load() - a.s.from.Load(); got != 0 {
			return time.Time{}, fmt.Errorf("%s: instance %d had %d rows while reading was held", g.name, i, got)
		}
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	released = true
	t := time.Now()
	p.Thaw()
	return t, nil
}
