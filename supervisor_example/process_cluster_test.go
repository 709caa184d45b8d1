package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// failoverWithin is how soon, after stop-leader answered, another instance
// must lead: the cluster module promises 2 s; the rest is for a loaded
// machine.
const failoverWithin = 5 * time.Second

// TestProcessCluster runs the program with -cluster as a user would, in
// NOTIFY and WAL mode: an embedded NATS server and three instances; the
// status names the leader; a change reaches the SSE stream of every
// instance; stop-leader (a same-origin POST; a cross-origin one is
// refused) makes another instance lead within a few seconds, and changes
// still reach the instances left; the stopped one starts again from the
// page and catches up; /metrics shows the new leader; SIGTERM ends it all
// within 2 s and removes the NATS store.
func TestProcessCluster(t *testing.T) {
	pgtest.Require(t, srv)
	bin := built.binary(t)
	t.Run("notify", func(t *testing.T) {
		testProcessCluster(t, bin)
	})
	t.Run("wal", func(t *testing.T) {
		const slot = "sx_process_cluster"
		testProcessCluster(t, bin, "-source", "wal", "-slot", slot)
	})
	t.Run("nats-url", func(t *testing.T) {
		// A NATS server of the user's: the app starts none and uses it.
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
			StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if !ns.ReadyForConnections(30 * time.Second) {
			t.Fatal("NATS server not ready")
		}
		p := startProgram(t, bin, "-cluster", "-nats-url", ns.ClientURL(), "-database-url", newUserDB(t), "-watch", "public.orders")
		cs := p.waitCluster(t, 60*time.Second, "a leader", func(cs clusterStatus) bool { return cs.Leader != 0 })
		if cs.Embedded || strings.Contains(p.allLogs(), "embedded NATS server ready") {
			t.Errorf("an embedded NATS server started despite -nats-url:\n%s", p.allLogs())
		}
		if n := ns.NumClients(); n < clusterMembers {
			t.Errorf("the NATS server has %d clients, want at least one per instance", n)
		}
		p.stop(t)
	})
}

func testProcessCluster(t *testing.T, bin string, args ...string) {
	dbURL := newUserDB(t)
	t.Cleanup(func() {
		userSQL(t, dbURL, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sx_process_cluster'`)
	})
	p := startProgram(t, bin, append([]string{"-cluster", "-database-url", dbURL, "-watch", "public.orders"}, args...)...)
	storeDir, _ := p.waitLog(t, "embedded NATS server ready")["store_dir"].(string)
	c := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)

	st := p.waitCluster(t, 60*time.Second, "a leader and three consuming followers", func(cs clusterStatus) bool {
		if cs.Leader == 0 || len(cs.Members) != clusterMembers {
			return false
		}
		for _, m := range cs.Members {
			if !m.Enabled || !m.Connected {
				return false
			}
		}
		return true
	})
	old := st.Leader
	waitFor(t, 30*time.Second, "/healthz 200", func() bool {
		code, _, _ := get(t, c, http.MethodGet, p.url+"healthz")
		return code == http.StatusOK
	})
	streams := make(map[int]*stream)
	for n := 1; n <= clusterMembers; n++ {
		streams[n] = openStream(t, &http.Client{}, fmt.Sprintf("%sevents?member=%d", p.url, n))
		var f statusFrame
		streams[n].next(t, 10*time.Second, "status", isEvent("status")).decode(t, &f)
		if f.Cluster == nil || f.Cluster.Serving != n {
			t.Fatalf("member %d's stream: status %+v, want the cluster serving from it", n, f.Cluster)
		}
	}
	// The page's own stream (no member asked) reads a follower, so that
	// stopping the leader leaves it live.
	page := openStream(t, &http.Client{}, p.url+"events")
	var pf statusFrame
	page.next(t, 10*time.Second, "status", isEvent("status")).decode(t, &pf)
	if pf.Cluster == nil || pf.Cluster.Serving == 0 || pf.Cluster.Serving == old {
		t.Fatalf("the page's stream reads instance %+v; want a follower (leader %d)", pf.Cluster, old)
	}
	streams[0] = page
	id := insertOrder(t, dbURL)
	for n, s := range streams {
		s.next(t, 20*time.Second, fmt.Sprintf("the change on member %d (0: the page's)", n), isOrder(t, id))
	}

	// A page on another site cannot stop the leader through the browser.
	if code := postWith(t, c, p.url+"cluster/stop-leader", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Fatalf("cross-origin stop-leader: %d, want 403", code)
	}
	if cs := p.clusterStatus(t); cs.Leader != old {
		t.Fatalf("leader changed from %d to %d after a refused POST", old, cs.Leader)
	}
	if code := postWith(t, c, p.url+"cluster/stop-leader", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": strings.TrimSuffix(p.url, "/")}); code != http.StatusOK {
		t.Fatalf("stop-leader: %d", code)
	}
	began := time.Now()
	st = p.waitCluster(t, failoverWithin, "another instance to lead", func(cs clusterStatus) bool {
		return cs.Leader != 0 && cs.Leader != old
	})
	t.Logf("instance %d leads %v after stop-leader answered (instance %d led)", st.Leader, time.Since(began).Round(time.Millisecond), old)
	if st.Members[old-1].Enabled {
		t.Fatalf("the stopped leader %d is still enabled", old)
	}
	// NOTIFY: a change committed before the new leader's LISTEN is not
	// seen (its followers get a Resync for that); wait for it to listen.
	waitFor(t, 30*time.Second, "the new leader's change source to connect", func() bool {
		_, body, _ := get(t, c, http.MethodGet, p.url+"api/status")
		var f statusFrame
		return json.Unmarshal([]byte(body), &f) == nil && f.Cluster != nil && f.Cluster.Leader == st.Leader && f.Listener.Connected
	})
	id2 := insertOrder(t, dbURL)
	for n, s := range streams {
		if n != old {
			s.next(t, 20*time.Second, fmt.Sprintf("the change after the failover on member %d (0: the page's)", n), isOrder(t, id2))
		}
	}

	// Started again from the page, the old leader resumes from its stream
	// position and catches up, with no lag left.
	if code := postWith(t, c, fmt.Sprintf("%scluster/members/%d/enable", p.url, old), nil); code != http.StatusOK {
		t.Fatalf("enable member %d: %d", old, code)
	}
	streams[old].next(t, 30*time.Second, "the change made while it was stopped", isOrder(t, id2))
	p.waitCluster(t, 30*time.Second, "the restarted instance to catch up", func(cs clusterStatus) bool {
		m := cs.Members[old-1]
		return m.Enabled && m.Connected && m.Lag == 0 && m.Position == cs.StreamLast
	})

	_, body, _ := get(t, c, http.MethodGet, p.url+"metrics")
	if want := fmt.Sprintf(`phoenixkitdb_cluster_leader{member="%d",stream="PHOENIXKITDB"} 1`, st.Leader); !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, body)
	}
	if !strings.Contains(body, `phoenixkitdb_cluster_follower_lag_messages{member="1",stream="PHOENIXKITDB"}`) {
		t.Errorf("/metrics lacks the follower lag")
	}
	// The module toggle of the plain app acts on every instance.
	if code := postWith(t, c, p.url+"modules/db/disable", nil); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	for _, m := range p.clusterStatus(t).Members {
		if m.Enabled || m.Leading {
			t.Fatalf("instance %d enabled %v, leading %v after /modules/db/disable", m.N, m.Enabled, m.Leading)
		}
	}
	if code := postWith(t, c, p.url+"modules/db/enable", nil); code != http.StatusOK {
		t.Fatalf("enable: %d", code)
	}
	p.waitCluster(t, 30*time.Second, "a leader again after /modules/db/enable", func(cs clusterStatus) bool { return cs.Leader != 0 })

	p.stop(t)
	if _, err := os.Stat(storeDir); storeDir == "" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NATS store %q still exists (err %v)", storeDir, err)
	}
}

// clusterStatus reads the cluster part of GET /api/status.
func (p *program) clusterStatus(t *testing.T) clusterStatus {
	t.Helper()
	_, body, _ := get(t, &http.Client{Timeout: 10 * time.Second}, http.MethodGet, p.url+"api/status")
	var f statusFrame
	if err := json.Unmarshal([]byte(body), &f); err != nil || f.Cluster == nil {
		t.Fatalf("/api/status: %v %s", err, body)
	}
	return *f.Cluster
}

// waitCluster polls /api/status until cond holds for its cluster part.
func (p *program) waitCluster(t *testing.T, timeout time.Duration, what string, cond func(clusterStatus) bool) clusterStatus {
	t.Helper()
	var cs clusterStatus
	waitFor(t, timeout, what, func() bool {
		cs = p.clusterStatus(t)
		return cond(cs)
	})
	return cs
}

// postWith POSTs to u with headers and returns the status code.
func postWith(t *testing.T, c *http.Client, u string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// insertOrder inserts a row into public.orders of dbURL and returns its id.
func insertOrder(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id string
	if err := conn.QueryRow(ctx, `INSERT INTO public.orders (amount_cents) VALUES (4242) RETURNING id::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// isOrder matches the change frame of the INSERT of public.orders row id.
func isOrder(t *testing.T, id string) func(frame) bool {
	return func(f frame) bool {
		if f.event != "change" {
			return false
		}
		var c changeFrame
		f.decode(t, &c)
		return c.Schema == "public" && c.Table == "orders" && c.Operation == "INSERT" && c.RowID == id
	}
}
