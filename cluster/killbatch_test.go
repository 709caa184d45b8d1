package cluster_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// publishes returns the HPUB frames, whole, in b (what a NATS client
// wrote) to subject; a frame cut off at b's end is
// left out.
func publishes(b []byte, subject string) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			break
		}
		f := strings.Fields(string(b[:i]))
		n := i + 2
		if len(f) > 1 && (f[0] == "HPUB" || f[0] == "PUB") {
			size, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				break
			}
			n += size + 2
		}
		if n > len(b) {
			break
		}
		if len(f) > 1 && f[0] == "HPUB" && f[1] == subject {
			out = append(out, b[:n])
		}
		b = b[n:]
	}
	return out
}

// sendFirstOf sends the server the first of the frozen instance's queued
// publishes to subject, once there is one, and reports whether it did.
func (s *netSwitch) sendFirstOf(t *testing.T, subject string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.hconns {
		c.wmu.Lock()
		frames := publishes(c.queue, subject)
		if len(frames) > 0 {
			_, err := c.Conn.Write(frames[0])
			c.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			return true
		}
		c.wmu.Unlock()
	}
	return false
}

// WAL source: the leader dies (its NATS and PostgreSQL paths stop at
// once) after the stream stored the first message of a transaction's
// batches (up to 1,024 of its 3,000 changes) and before any other. The next leader replays the transaction
// from the slot, which was not confirmed past it, cutting it into
// messages as its relay finds them queued: every follower gets each
// change once, in order, and no Resync.
func TestWALLeaderKilledMidBatchDeliversEachChangeOnce(t *testing.T) {
	ns := startNATS(t)
	dbURL, run := walDB(t)
	var ins []*instance
	proxies := map[*instance]*pgtest.Proxy{}
	for range 3 {
		p, rewrite := proxied(t, dbURL)
		// A longer lease: the frozen leader must not step down before its
		// relay wrote its first message.
		in := newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL, dbURL: rewrite, mbCap: 8192,
			cluster: cluster.Config{LeaseTTL: 3 * time.Second}})
		ins = append(ins, in)
		proxies[in] = p
	}
	waitReady(t, ins...)
	run(`INSERT INTO items VALUES (0, 'x')`)
	expectChanges(t, ins, inserts(0, 1), []pubsub.Reason{"start"})
	old := leaderOf(t, ins)
	if old == nil {
		t.Fatal("no leader")
	}
	const rows = 3000
	old.sw.Freeze()
	start := time.Now()
	run(`INSERT INTO items SELECT g, 'x' FROM generate_series(1, $1) g`, rows)
	poll(t, "the leader to publish a message of the transaction", func() bool {
		return old.sw.sendFirstOf(t, "phoenixkitdb.public.items")
	})
	proxies[old].Freeze()
	old.sw.Cut()
	old.sw.Release() // its connections are closed: nothing queued arrives
	poll(t, "the old leader to step down", func() bool { return !old.cl.Leading() })
	proxies[old].CutAll()
	waitNewLeader(t, ins, old, start)
	rest := others(ins, old)
	waitReady(t, rest...)
	expectChanges(t, rest, inserts(1, rows+1), nil)
	// Nothing more came before the next change.
	run(`INSERT INTO items VALUES ($1, 'x')`, rows+1)
	expectChanges(t, rest, inserts(rows+1, rows+2), nil)
}
