package shapehttp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// cachingProxy is a small shared HTTP cache in front of the handler, as a
// CDN would be: it stores 200 and 409 answers marked public for their
// s-maxage (else max-age), keyed by the whole request URI, and serves them
// without asking the origin while fresh.
type cachingProxy struct {
	origin string
	mu     sync.Mutex
	store  map[string]cached
	hits   int
}

type cached struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
}

func (p *cachingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.RequestURI()
	p.mu.Lock()
	c, ok := p.store[key]
	if ok && time.Now().Before(c.expires) {
		p.hits++
		p.mu.Unlock()
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body)
		return
	}
	p.mu.Unlock()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.origin+key, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if ttl := sharedTTL(resp.Header.Get("Cache-Control")); ttl > 0 && (resp.StatusCode == 200 || resp.StatusCode == 409) {
		p.mu.Lock()
		p.store[key] = cached{status: resp.StatusCode, header: resp.Header.Clone(), body: body, expires: time.Now().Add(ttl)}
		p.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, bytes.NewReader(body))
}

// sharedTTL is how long a shared cache may keep an answer: s-maxage, else
// max-age, for public answers only.
func sharedTTL(cc string) time.Duration {
	public, maxAge, sMaxAge := false, -1, -1
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		name, val, _ := strings.Cut(d, "=")
		n, _ := strconv.Atoi(val)
		switch name {
		case "public":
			public = true
		case "private", "no-store", "no-cache":
			return 0
		case "max-age":
			maxAge = n
		case "s-maxage":
			sMaxAge = n
		}
	}
	if !public {
		return 0
	}
	if sMaxAge >= 0 {
		return time.Duration(sMaxAge) * time.Second
	}
	return time.Duration(max(maxAge, 0)) * time.Second
}

// TestSharedCache: behind a caching proxy, repeated snapshot requests are
// served by the cache without reaching the handler, and clients that got
// their snapshot from the cache still converge live.
func TestSharedCache(t *testing.T) {
	e := setup(t, shapehttp.Options{LongPollTimeout: 2 * time.Second})
	p := &cachingProxy{origin: e.srv.URL, store: map[string]cached{}}
	proxy := httptest.NewServer(p)
	t.Cleanup(func() {
		proxy.CloseClientConnections()
		proxy.Close()
	})
	w := newWriter(e, 21)
	w.round(20)
	ctx := context.Background()
	base := proxy.URL + "/v1/shape"
	c1 := newGoClient(t, base, shapeParams())
	c1.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
	if cc := c1.lastHeader.Get("Cache-Control"); cc == "" {
		t.Error("no Cache-Control")
	}
	clients := []*goClient{c1}
	for i := range 3 {
		c := newGoClient(t, base, shapeParams())
		c.converge(ctx, e.oracle(testCols, testWhere, testParams...), 20*time.Second)
		clients = append(clients, c)
		if i == 0 && e.snapshotRequests() != 1 {
			t.Fatalf("the handler answered %d snapshot requests for two clients behind the cache; want 1", e.snapshotRequests())
		}
		w.round(10)
	}
	// Every client read the snapshot the cache kept; the later ones read
	// on from its offset and caught up live.
	if s := e.snapshotRequests(); s != 1 {
		t.Errorf("the handler answered %d snapshot requests; want 1 (the rest from the cache)", s)
	}
	for range 3 {
		w.round(10)
		want := e.oracle(testCols, testWhere, testParams...)
		for _, c := range clients {
			c.converge(ctx, want, 20*time.Second)
		}
	}
	for i, c := range clients {
		if c.snapshots != 1 || c.refetches != 0 {
			t.Errorf("client %d: %d snapshots, %d refetches", i, c.snapshots, c.refetches)
		}
	}
	p.mu.Lock()
	hits := p.hits
	p.mu.Unlock()
	if hits < 3 {
		t.Errorf("%d cache hits", hits)
	}
}
