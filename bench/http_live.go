package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Sizes of the live-clients measurement of section "http".
const (
	liveClients = 1000
	liveRate    = 100 // changes per second
	liveTable   = "bench_http_live"
)

// runHTTPLive measures 1,000 concurrent long-poll clients of one shape
// (shapehttp over a shape.Manager in NOTIFY mode, the Listener on e's
// database) while single-row INSERTs commit at 100/s: the p99 from each
// commit to its receipt by every client, and the server's memory per idle
// live client (heap and goroutine stacks, the clients in a child process).
func runHTTPLive(ctx context.Context, e *env, cfg config) ([]Row, error) {
	const sec = "http"
	changes := 10 * liveRate
	if cfg.quick {
		changes = 3 * liveRate
	}
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+liveTable+`; CREATE TABLE `+liveTable+` (id bigint PRIMARY KEY, n int NOT NULL)`); err != nil {
		return nil, err
	}
	if err := trigger.Ensure(ctx, pool, "public", liveTable); err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ps := pubsub.New(quiet)
	l, err := listener.New(listener.Config{ConnString: e.url, PubSub: ps, Logger: quiet})
	if err != nil {
		return nil, err
	}
	m, err := shape.New(shape.Config{Pool: pool, Changes: ps, Notify: true, Logger: quiet})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range []interface{ Serve(context.Context) error }{ps, l, m} {
		wg.Go(func() { _ = s.Serve(runCtx) })
	}
	defer func() { stop(); wg.Wait() }()
	for !l.Ready() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	h, err := shapehttp.New(m, shapehttp.Options{Tables: []string{liveTable}, Logger: quiet, MaxClients: 2 * liveClients})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	lc := &liveCounter{h: h}
	ts := httptest.NewServer(lc)
	defer ts.Close()
	tr := &http.Transport{MaxIdleConns: 2 * liveClients, MaxIdleConnsPerHost: 2 * liveClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	base := ts.URL + "/v1/shape?table=" + liveTable
	perClient, err := idleClientMem(ctx, base, lc, liveClients)
	if err != nil {
		return nil, err
	}
	// The same clients waiting in net/http alone, in this run.
	bare := &liveCounter{h: waitingHandler()}
	bs := httptest.NewServer(bare)
	perBare, err := idleClientMem(ctx, bs.URL+"/?table=x", bare, liveClients)
	bs.Close()
	if err != nil {
		return nil, err
	}

	commitAt := make([]atomic.Int64, changes) // unix ns after each INSERT returned
	lat := make([][]float64, liveClients)     // per client: ms from commit to receipt
	recv := make([]atomic.Int64, liveClients) // per client: changes received
	var live atomic.Int64                     // clients past their first up-to-date
	clientCtx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	var cwg sync.WaitGroup
	errs := make(chan error, liveClients)
	for i := range liveClients {
		cwg.Go(func() {
			offset, handle, isLive := "-1", "", false
			for clientCtx.Err() == nil && len(lat[i]) < changes {
				u := base + "&offset=" + url.QueryEscape(offset)
				if handle != "" {
					u += "&handle=" + url.QueryEscape(handle)
				}
				if isLive {
					u += "&live=true"
				}
				req, _ := http.NewRequestWithContext(clientCtx, http.MethodGet, u, nil)
				resp, err := client.Do(req)
				if err != nil {
					if clientCtx.Err() == nil {
						errs <- err
					}
					return
				}
				var msgs []struct {
					Value   map[string]string `json:"value"`
					Headers struct {
						Operation string `json:"operation"`
						Control   string `json:"control"`
					} `json:"headers"`
				}
				err = json.NewDecoder(resp.Body).Decode(&msgs)
				got := time.Now().UnixNano()
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil {
					if clientCtx.Err() == nil {
						errs <- fmt.Errorf("client %d: %s %v", i, resp.Status, err)
					}
					return
				}
				for _, msg := range msgs {
					if msg.Headers.Operation == "insert" {
						n, _ := strconv.Atoi(msg.Value["n"])
						if c := commitAt[n].Load(); c != 0 {
							lat[i] = append(lat[i], float64(max(got-c, 0))/1e6)
						} else {
							lat[i] = append(lat[i], 0) // received before INSERT returned
						}
						recv[i].Add(1)
					}
					if msg.Headers.Control == "up-to-date" && !isLive {
						isLive = true
						live.Add(1)
					}
				}
				offset, handle = resp.Header.Get("electric-offset"), resp.Header.Get("electric-handle")
			}
		})
	}
	defer func() { stopClients(); cwg.Wait() }()
	for live.Load() < liveClients {
		select {
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	for lc.live.Load() < liveClients {
		select {
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}

	tick := time.NewTicker(time.Second / liveRate)
	for n := range changes {
		<-tick.C
		if _, err := pool.Exec(ctx, `INSERT INTO `+liveTable+` VALUES ($1, $2)`, n, n); err != nil {
			tick.Stop()
			return nil, err
		}
		commitAt[n].Store(time.Now().UnixNano())
	}
	tick.Stop()
	deadline := time.After(60 * time.Second)
	for {
		cwgDone := true
		for i := range recv {
			if recv[i].Load() < int64(changes) {
				cwgDone = false
				break
			}
		}
		if cwgDone {
			break
		}
		select {
		case err := <-errs:
			return nil, err
		case <-deadline:
			return nil, fmt.Errorf("not every client received the %d changes within 60 s", changes)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stopClients()
	cwg.Wait()
	var all []float64
	for _, xs := range lat {
		all = append(all, xs...)
	}
	p := sample(sec, fmt.Sprintf("commit -> every client p99, %d long-poll clients, %d changes at %d/s", liveClients, changes, liveRate),
		"shapehttp (NOTIFY mode)", "ms", []float64{percentile(all, 0.99)})
	p.goal("at most 100 ms", p.Median <= 100)
	mem := sample(sec, fmt.Sprintf("server heap and stacks per idle live client (%d clients in a child process)", liveClients),
		"shapehttp (NOTIFY mode)", "B", []float64{perClient})
	mem.goal("≤ 16 KiB", perClient <= 16<<10)
	bare0 := sample(sec, mem.Measurement, "net/http alone (a handler that waits)", "B", []float64{perBare})
	if perBare > 0 {
		bare0.Ratio, mem.Ratio = 1, perClient/perBare
	}
	return []Row{p, mem, bare0}, nil
}
