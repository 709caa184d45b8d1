package shapehttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// row is a shape row as text: column -> value (nil for NULL).
type row map[string]*string

// goClient speaks the protocol the way @electric-sql/client does, in Go,
// so the protocol is pinned without node: offset -1, then the offsets and
// handles the server gives, live long polls with the cursor once
// up-to-date, and on 409 must-refetch everything again.
type goClient struct {
	t      *testing.T
	base   string
	params url.Values
	hc     *http.Client

	handle, offset, cursor string
	live                   bool
	expired                string      // the handle a 409 replaced, sent as the client does
	header                 http.Header // sent with every request
	rows                   map[string]row
	schema                 map[string]map[string]any

	snapshots, refetches int  // offset -1 requests; 409 answers
	strict               bool // an update or delete of a key the client lacks is an error
	lastHeader           http.Header
}

func newGoClient(t *testing.T, base string, params url.Values) *goClient {
	return &goClient{t: t, base: base, params: params, hc: &http.Client{}, offset: "-1", rows: map[string]row{}, strict: true}
}

// message is a protocol message.
type message struct {
	Key      string         `json:"key"`
	Value    row            `json:"value"`
	OldValue row            `json:"old_value"`
	Headers  map[string]any `json:"headers"`
}

// httpError is a non-2xx answer other than 409.
type httpError struct {
	status int
	body   string
	header http.Header
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// url is the next request's address.
func (c *goClient) url() string {
	q := url.Values{}
	maps.Copy(q, c.params)
	q.Set("offset", c.offset)
	if c.offset != "-1" {
		q.Set("handle", c.handle)
	} else if c.expired != "" {
		// As the official client does after a 409: a URL no cache has
		// seen, so a cached snapshot of the old handle is not served.
		q.Set("expired_handle", c.expired)
		q.Set("cache-buster", strconv.FormatUint(rand.Uint64(), 36))
	}
	if c.live {
		q.Set("live", "true")
		q.Set("cursor", c.cursor)
	}
	return c.base + "?" + q.Encode()
}

// poll makes one request and applies its answer.
func (c *goClient) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(), nil)
	if err != nil {
		return err
	}
	maps.Copy(req.Header, c.header)
	if c.offset == "-1" {
		c.snapshots++
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	c.lastHeader = resp.Header
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		c.refetches++
		c.expired = c.handle
		c.handle = resp.Header.Get("electric-handle")
		if c.handle == "" {
			return fmt.Errorf("409 without electric-handle")
		}
		c.offset, c.live, c.rows, c.schema = "-1", false, map[string]row{}, nil
		return nil
	default:
		return &httpError{status: resp.StatusCode, body: string(body), header: resp.Header}
	}
	for _, h := range []string{"electric-handle", "electric-offset"} {
		if resp.Header.Get(h) == "" {
			return fmt.Errorf("answer without %s", h)
		}
	}
	if !c.live && c.schema == nil {
		if err := json.Unmarshal([]byte(resp.Header.Get("electric-schema")), &c.schema); err != nil {
			return fmt.Errorf("electric-schema %q: %v", resp.Header.Get("electric-schema"), err)
		}
	}
	if c.live && resp.Header.Get("electric-cursor") == "" {
		return fmt.Errorf("live answer without electric-cursor")
	}
	var msgs []message
	if err := json.Unmarshal(body, &msgs); err != nil {
		return fmt.Errorf("body %q: %v", body, err)
	}
	for _, m := range msgs {
		if err := c.apply(m); err != nil {
			return err
		}
	}
	c.handle = resp.Header.Get("electric-handle")
	c.offset = resp.Header.Get("electric-offset")
	c.expired = ""
	if _, up := resp.Header["Electric-Up-To-Date"]; up {
		c.live = true
	}
	if cur := resp.Header.Get("electric-cursor"); cur != "" {
		c.cursor = cur
	}
	return nil
}

// apply applies one message to the client's rows.
func (c *goClient) apply(m message) error {
	if ctl, ok := m.Headers["control"]; ok {
		if ctl == "must-refetch" {
			c.rows = map[string]row{}
		}
		return nil
	}
	switch m.Headers["operation"] {
	case "insert":
		if _, ok := c.rows[m.Key]; ok {
			return fmt.Errorf("insert of %q, which the client has", m.Key)
		}
		c.rows[m.Key] = m.Value
	case "update":
		old, ok := c.rows[m.Key]
		if !ok {
			if !c.strict {
				return nil // changes_only and now: the client never had the row
			}
			return fmt.Errorf("update of %q, which the client does not have", m.Key)
		}
		nr := maps.Clone(old)
		maps.Copy(nr, m.Value)
		c.rows[m.Key] = nr
	case "delete":
		if _, ok := c.rows[m.Key]; !ok && c.strict {
			return fmt.Errorf("delete of %q, which the client does not have", m.Key)
		}
		delete(c.rows, m.Key)
	default:
		return fmt.Errorf("message %+v", m)
	}
	return nil
}

// converge polls until the client is up to date with rows equal to want,
// failing the test after timeout.
func (c *goClient) converge(ctx context.Context, want map[string]row, timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if c.live && rowsEqual(c.rows, want) {
			return
		}
		if err := c.poll(ctx); err != nil {
			c.t.Fatalf("client did not converge: %v\n%s", err, diffRows(c.rows, want))
		}
	}
}

// rowsEqual compares two row sets.
func rowsEqual(a, b map[string]row) bool {
	return diffRows(a, b) == ""
}

// diffRows describes how got differs from want; "" when equal.
func diffRows(got, want map[string]row) string {
	var d []string
	str := func(r row) string {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var s []string
		for _, k := range keys {
			if r[k] == nil {
				s = append(s, k+"=NULL")
			} else {
				s = append(s, k+"="+*r[k])
			}
		}
		return strings.Join(s, " ")
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			d = append(d, "missing "+k+": "+str(w))
		} else if str(g) != str(w) {
			d = append(d, "differs "+k+": got "+str(g)+", want "+str(w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k+": "+str(g))
		}
	}
	sort.Strings(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("... %d more", len(d)-20))
	}
	return strings.Join(d, "\n")
}

// oracle returns PostgreSQL's rows for the shape: SELECT cols::text FROM
// items WHERE <where> with params, keyed by id. The WHERE clause is the
// client's own text; the parameters go as literals (simple protocol), so
// PostgreSQL types them from the columns they meet, as the shape does.
func (e *env) oracle(cols []string, where string, params ...string) map[string]row {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c + "::text"
	}
	q := "SELECT id::text, " + strings.Join(sel, ", ") + " FROM items"
	if where != "" {
		q += " WHERE " + where
	}
	args := []any{pgx.QueryExecModeSimpleProtocol}
	for _, p := range params {
		args = append(args, p)
	}
	rs, err := e.pool.Query(ctx, q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	out := map[string]row{}
	for rs.Next() {
		vals := make([]*string, len(cols)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		r := row{}
		for i, c := range cols {
			r[c] = vals[i+1]
		}
		out[*vals[0]] = r
	}
	if err := rs.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// writer makes random changes to items that move rows in and out of
// shapes on status and n.
type writer struct {
	e    *env
	rng  *rand.Rand
	next int
	ids  []int
}

func newWriter(e *env, seed uint64) *writer {
	return &writer{e: e, rng: rand.New(rand.NewPCG(seed, 7)), next: 1}
}

var statuses = []string{"open", "paid", "void"}

// round commits n random transactions of one to three statements.
func (w *writer) round(n int) {
	w.e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range n {
		tx, err := w.e.pool.Begin(ctx)
		if err != nil {
			w.e.t.Fatal(err)
		}
		for range 1 + w.rng.IntN(3) {
			var err error
			switch op := w.rng.IntN(10); {
			case op < 4 || len(w.ids) < 3:
				id := w.next
				w.next++
				w.ids = append(w.ids, id)
				_, err = tx.Exec(ctx, `INSERT INTO items (id, status, n, note) VALUES ($1, $2, $3, $4)`,
					id, statuses[w.rng.IntN(3)], w.rng.IntN(30), fmt.Sprintf("note %d", w.rng.IntN(1000)))
			case op < 8:
				id := w.ids[w.rng.IntN(len(w.ids))]
				if w.rng.IntN(2) == 0 {
					_, err = tx.Exec(ctx, `UPDATE items SET status = $2, n = $3 WHERE id = $1`, id, statuses[w.rng.IntN(3)], w.rng.IntN(30))
				} else {
					_, err = tx.Exec(ctx, `UPDATE items SET note = $2 WHERE id = $1`, id, fmt.Sprintf("note %d", w.rng.IntN(1000)))
				}
			default:
				i := w.rng.IntN(len(w.ids))
				_, err = tx.Exec(ctx, `DELETE FROM items WHERE id = $1`, w.ids[i])
				w.ids = append(w.ids[:i], w.ids[i+1:]...)
			}
			if err != nil {
				w.e.t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			w.e.t.Fatal(err)
		}
	}
}

// sseConverge follows the shape in SSE mode, as the official client does
// once up to date: it reads events, applies each batch at its up-to-date
// and takes "<global_last_seen_lsn>_0" as its offset, reconnecting when
// the server ends the stream, until its rows equal want.
func (c *goClient) sseConverge(ctx context.Context, want map[string]row, timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !c.live {
		c.t.Fatal("sseConverge needs a client that is up to date")
	}
	for {
		if rowsEqual(c.rows, want) {
			return
		}
		if err := c.sseStream(ctx, want); err != nil {
			c.t.Fatalf("SSE: %v\n%s", err, diffRows(c.rows, want))
		}
	}
}

// sseStream reads one SSE response until the rows equal want or the
// server ends it.
func (c *goClient) sseStream(ctx context.Context, want map[string]row) error {
	u := c.url() + "&live_sse=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return &httpError{status: resp.StatusCode, body: string(b), header: resp.Header}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		return fmt.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("electric-cursor") == "" || resp.Header.Get("electric-handle") == "" {
		return fmt.Errorf("SSE answer without electric-cursor or electric-handle: %v", resp.Header)
	}
	c.cursor = resp.Header.Get("electric-cursor")
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var batch []message
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var m message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			return fmt.Errorf("event %q: %v", data, err)
		}
		batch = append(batch, m)
		if m.Headers["control"] != "up-to-date" {
			continue
		}
		for _, m := range batch {
			if err := c.apply(m); err != nil {
				return err
			}
		}
		batch = nil
		lsn, _ := m.Headers["global_last_seen_lsn"].(string)
		if lsn == "" {
			return fmt.Errorf("up-to-date without global_last_seen_lsn: %s", data)
		}
		c.offset = lsn + "_0"
		if rowsEqual(c.rows, want) {
			return nil
		}
	}
	if len(batch) > 0 {
		// A batch cut off before its up-to-date is dropped, as the
		// official client drops it: it is read again from the offset.
		batch = nil
	}
	return sc.Err()
}
