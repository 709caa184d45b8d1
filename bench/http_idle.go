package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The idle-client measurement of section "http" runs its clients in a
// child process (this program with -http-idle-clients), so that the
// heap and stacks measured in this one are the server's alone.

// liveCounter wraps a handler and counts the live requests in it.
type liveCounter struct {
	h    http.Handler
	live atomic.Int64
}

func (c *liveCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("live") == "true" {
		c.live.Add(1)
		defer c.live.Add(-1)
	}
	c.h.ServeHTTP(w, r)
}

// serverMem is the heap in use plus the goroutine stacks, after GC.
func serverMem() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// idleClientMem returns the server's memory per live client waiting on
// base (a shape URL): n clients in a child process follow the shape to
// up-to-date and then long-poll; it is measured once all n wait in lc.
func idleClientMem(ctx context.Context, base string, lc *liveCounter, n int) (float64, error) {
	before := serverMem()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-http-idle-clients", base, "-http-idle-n", strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = stdin.Close() // the child ends when its stdin does
		_ = cmd.Wait()
	}()
	for lc.live.Load() < int64(n) {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d child clients waiting: %w", lc.live.Load(), n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(200 * time.Millisecond) // let the last requests settle into their wait
	return (float64(serverMem()) - float64(before)) / float64(n), nil
}

// waitingHandler is the baseline of the idle-client measurement: net/http
// alone. It answers a non-live request up-to-date at once and holds a live
// one until the client goes away, as a long poll does.
func waitingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("electric-handle", "h")
		w.Header().Set("electric-offset", "0_0")
		if r.URL.Query().Get("live") == "true" {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, `[{"headers":{"control":"up-to-date"}}]`)
	})
}

// runIdleClients is the child's side: n clients of base that follow the
// shape and long-poll until stdin ends.
func runIdleClients(base string, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	tr := &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n}
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			offset, handle, live := "-1", "", false
			for ctx.Err() == nil {
				u := base + "&offset=" + url.QueryEscape(offset)
				if handle != "" {
					u += "&handle=" + url.QueryEscape(handle)
				}
				if live {
					u += "&live=true"
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				var msgs []struct {
					Headers struct {
						Control string `json:"control"`
					} `json:"headers"`
				}
				err = json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&msgs)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					fmt.Fprintln(os.Stderr, "idle client:", resp.Status, err)
					return
				}
				for _, m := range msgs {
					live = live || m.Headers.Control == "up-to-date"
				}
				offset, handle = resp.Header.Get("electric-offset"), resp.Header.Get("electric-handle")
			}
		})
	}
	wg.Wait()
	return nil
}
