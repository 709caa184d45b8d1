package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// Contenders of section "http".
const (
	httpContender = "shapehttp, first client (takes the snapshot)"
	httpLive      = "shapehttp, client of a live shape"
	httpDecoded   = "shapehttp, live shape, client decodes"
	httpBaseline  = "pgx COPY ... TO STDOUT"
)

// runHTTPSync measures, on e's database, the initial sync of a
// 100,000-row shape to one HTTP client of a shapehttp.Handler (offset -1,
// then the requests up to up-to-date) against pgx's COPY (SELECT the same
// rows) TO STDOUT in the same run: for the shape's first client (the
// shape package takes its snapshot: section "shapes" measures that part
// alone), and for a client of the shape once live (answered from memory),
// its body counted as COPY's is or every message decoded. The table is
// section "shapes"' (made again here).
func runHTTPSync(ctx context.Context, e *env, cfg config) ([]Row, error) {
	const sec = "http"
	meas := fmt.Sprintf("initial sync of a %d-row shape to one client", snapRows)
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+snapTable+`;
		CREATE TABLE `+snapTable+` (id bigint PRIMARY KEY, status text NOT NULL, n int NOT NULL, total numeric, note text);
		INSERT INTO `+snapTable+` SELECT g, CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END, g % 100, g * 1.25, 'note ' || g
			FROM generate_series(1, `+strconv.Itoa(snapRows*5/4)+`) g;
		ANALYZE `+snapTable+`;
		DROP PUBLICATION IF EXISTS bench_shapes;
		CREATE PUBLICATION bench_shapes FOR TABLE `+snapTable); err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := shape.New(shape.Config{Pool: pool, Changes: pubsub.New(quiet), Publication: "bench_shapes", Logger: quiet})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Serve(runCtx) }()
	defer func() { stop(); <-done }()
	h, err := shapehttp.New(m, shapehttp.Options{Tables: []string{snapTable}, Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := ts.Client()

	// With a profile file, each contender's syncs of each repetition
	// are profiled into a file of their own (see profileTo).
	prof := &httpProfiler{prefix: cfg.httpProfile}
	var httpT, liveT, decT, copyT []float64
	for rep := range max(cfg.reps, 3) {
		// A distinct definition (same rows) each time: a fresh shape,
		// then the same one live.
		where := "status = 'open' AND n >= " + strconv.Itoa(-1-rep)
		for i, times := range []*[]float64{&httpT, &liveT, &decT} {
			if err := prof.start([...]string{"first", "live", "decoded"}[i], rep); err != nil {
				return nil, err
			}
			t0 := time.Now()
			n, err := httpSync(ctx, client, ts.URL+"/v1/shape?table="+snapTable+"&where="+url.QueryEscape(where), i == 2)
			elapsed := time.Since(t0)
			prof.stop()
			if err != nil {
				return nil, err
			}
			*times = append(*times, float64(elapsed.Microseconds())/1000)
			if n != snapRows {
				return nil, fmt.Errorf("http sync: %d rows, want %d", n, snapRows)
			}
		}

		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		lines := &lineCounter{}
		if err := prof.start("copy", rep); err != nil {
			conn.Release()
			return nil, err
		}
		t0 := time.Now()
		_, err = conn.Conn().PgConn().CopyTo(ctx, lines, `COPY (SELECT id, status, n, total, note FROM `+snapTable+` WHERE `+where+`) TO STDOUT`)
		copyT = append(copyT, float64(time.Since(t0).Microseconds())/1000)
		prof.stop()
		conn.Release()
		if err != nil {
			return nil, err
		}
		if lines.n != snapRows {
			return nil, fmt.Errorf("COPY: %d rows, want %d", lines.n, snapRows)
		}
	}
	base := sample(sec, meas, httpBaseline, "ms", copyT)
	r := sample(sec, meas, httpContender, "ms", httpT)
	lv := sample(sec, meas, httpLive, "ms", liveT)
	d := sample(sec, meas, httpDecoded, "ms", decT)
	if base.Median > 0 {
		base.Ratio, r.Ratio, lv.Ratio, d.Ratio = 1, r.Median/base.Median, lv.Median/base.Median, d.Median/base.Median
		r.goal("at least 0.5x the rate of COPY (≤ 2x its time)", r.Median <= 2*base.Median)
		lv.goal("at least 0.5x the rate of COPY (≤ 2x its time)", lv.Median <= 2*base.Median)
	}
	return []Row{r, lv, d, base}, nil
}

// httpSync follows a shape from offset -1 until an answer is up-to-date
// and returns the number of inserts: counted in the body's bytes, as COPY's
// rows are, or with decode every message decoded as a client would.
func httpSync(ctx context.Context, c *http.Client, base string, decode bool) (int, error) {
	offset, handle, rows := "-1", "", 0
	for range 100 {
		u := base + "&offset=" + url.QueryEscape(offset)
		if handle != "" {
			u += "&handle=" + url.QueryEscape(handle)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		if !decode {
			// One pass over the body, as COPY's lines are counted: an
			// up-to-date is the last message of a body, found in its tail.
			inserts := &patternCounter{pat: []byte(`"headers":{"operation":"insert"`), keep: 64}
			_, err := io.CopyBuffer(inserts, resp.Body, make([]byte, 64<<10))
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("GET %s: %s %v", u, resp.Status, err)
			}
			rows += inserts.n
			if resp.Header.Get("electric-up-to-date") != "" || bytes.Contains(inserts.tail, []byte(`"control":"up-to-date"`)) {
				return rows, nil
			}
			offset, handle = resp.Header.Get("electric-offset"), resp.Header.Get("electric-handle")
			continue
		}
		var msgs []struct {
			Headers struct {
				Operation string `json:"operation"`
				Control   string `json:"control"`
			} `json:"headers"`
			Value map[string]*string `json:"value"`
		}
		err = json.NewDecoder(bufio.NewReaderSize(resp.Body, 64<<10)).Decode(&msgs)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		if err != nil {
			return 0, err
		}
		upToDate := resp.Header.Get("electric-up-to-date") != ""
		for _, m := range msgs {
			if m.Headers.Operation == "insert" {
				rows++
			}
			upToDate = upToDate || m.Headers.Control == "up-to-date"
		}
		if upToDate {
			return rows, nil
		}
		offset, handle = resp.Header.Get("electric-offset"), resp.Header.Get("electric-handle")
	}
	return 0, fmt.Errorf("no up-to-date after 100 requests")
}

// patternCounter counts the occurrences of pat in what is written to it,
// across writes, with no copy of the body, and keeps its last bytes.
type patternCounter struct {
	pat  []byte
	keep int    // tail keeps the last max(keep, len(pat)-1) bytes written
	tail []byte // the last bytes written
	n    int
}

func (c *patternCounter) Write(p []byte) (int, error) {
	if t := c.tail[max(0, len(c.tail)-len(c.pat)+1):]; len(t) > 0 {
		// An occurrence that straddles the previous write and this one.
		k := min(len(p), len(c.pat)-1)
		c.n += bytes.Count(append(t[:len(t):len(t)], p[:k]...), c.pat)
	}
	c.n += bytes.Count(p, c.pat)
	keep := max(c.keep, len(c.pat)-1)
	all := append(c.tail, p[max(0, len(p)-keep):]...)
	c.tail = append(c.tail[:0:0], all[max(0, len(all)-keep):]...)
	return len(p), nil
}

// lineCounter counts the lines written to it (COPY's text format: one
// line per row; no row of the table has a newline).
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// httpProfiler CPU-profiles one contender's sync at a time into
// <prefix>.<contender>.<rep> (go tool pprof merges the files given
// together); with no prefix it does nothing.
type httpProfiler struct {
	prefix string
	f      *os.File
}

func (p *httpProfiler) start(contender string, rep int) error {
	if p.prefix == "" {
		return nil
	}
	f, err := os.Create(p.prefix + "." + contender + "." + strconv.Itoa(rep))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

func (p *httpProfiler) stop() {
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	_ = p.f.Close()
	p.f = nil
}
