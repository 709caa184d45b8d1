//go:build e2e

package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2ETableFilter drives the table view's filter box in headless
// Chromium: typing a WHERE clause shows exactly the rows PostgreSQL's
// SELECT returns and how many shapes are live; an UPDATE made with psql
// moves a row out of the view and another one into it within a second;
// WHERE text the parser refuses shows the error with its byte position;
// a URL with ?where= opens the view filtered.
func TestE2ETableFilter(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	b.exec(t, `INSERT INTO demo.orders (amount_cents, status) SELECT g * 100, CASE WHEN g % 2 = 0 THEN 'open' ELSE 'paid' END FROM generate_series(1, 8) g`)
	psql := psqlRunner(t, b.url)
	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 15*time.Second, "open the table view",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
		chromedp.WaitVisible(`#table-view[data-loads="1"][data-rows="8"]`),
	)
	const where = "status = 'open'"
	step(t, ctx, 10*time.Second, "type a filter",
		chromedp.SendKeys(`#tv-where`, where),
		chromedp.Click(`#tv-filter button[type="submit"]`),
		chromedp.WaitVisible(`#table-view[data-up-to-date="1"]`),
		chromedp.WaitVisible(`#table-view[data-shapes]`),
	)
	shown := func() string {
		return eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](
			`Array.from(document.querySelectorAll('#tv-rows tr')).map(function(r){return r.dataset.key}).sort(function(a,b){return a-b}).join(" ")`))
	}
	want := b.scalar(t, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM demo.orders WHERE `+where)
	if got := shown(); got != want {
		t.Fatalf("filtered rows %q, PostgreSQL says %q", got, want)
	}
	if loc := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](`location.search`)); loc != "?where="+url.QueryEscape(where) {
		t.Errorf("URL query %q, want the filter in it", loc)
	}
	if s := eval(t, ctx, 2*time.Second, chromedp.Text(`#tv-shapes`)); !strings.Contains(s, "live shape") {
		t.Errorf("shape count %q, want \"N live shapes\"", s)
	}

	out := strings.Fields(want)[0]
	in := b.scalar(t, `SELECT min(id)::text FROM demo.orders WHERE status = 'paid'`)
	psql(fmt.Sprintf(`UPDATE demo.orders SET status = 'shipped' WHERE id = %s`, out))
	within(t, ctx, "the row moving out", fmt.Sprintf(`!document.querySelector('#tv-rows tr[data-key="%s"]')`, out))
	psql(fmt.Sprintf(`UPDATE demo.orders SET status = 'open' WHERE id = %s`, in))
	within(t, ctx, "the row moving in", fmt.Sprintf(
		`(function(){var r=document.querySelector('#tv-rows tr[data-key="%s"]');`+
			`return !!r && r.dataset.op==="insert" && r.querySelector('td[data-col="status"]').textContent==="open"})()`, in))
	if got, want := shown(), b.scalar(t, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM demo.orders WHERE `+where); got != want {
		t.Fatalf("after the moves: rows %q, PostgreSQL says %q", got, want)
	}

	eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](`document.getElementById("tv-where").value = ""`))
	step(t, ctx, 10*time.Second, "type a bad filter",
		chromedp.SendKeys(`#tv-where`, "status = 'open' AND amount_cents >"),
		chromedp.Click(`#tv-filter button[type="submit"]`),
		chromedp.WaitVisible(`#tv-filter-error:not([hidden])`),
	)
	if msg := eval(t, ctx, 2*time.Second, chromedp.Text(`#tv-filter-error`)); !strings.Contains(msg, "at byte ") {
		t.Errorf("error shown %q, want its byte position", msg)
	}

	step(t, ctx, 15*time.Second, "open a filtered URL",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders?where="+url.QueryEscape("amount_cents >= 500")),
		chromedp.WaitVisible(`#table-view[data-up-to-date="1"]`),
	)
	if got, want := shown(), b.scalar(t, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM demo.orders WHERE amount_cents >= 500`); got != want {
		t.Fatalf("rows of the filtered URL %q, PostgreSQL says %q", got, want)
	}
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}
