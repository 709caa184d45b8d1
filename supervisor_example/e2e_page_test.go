//go:build e2e

package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EPageDetails checks what issue 21 found wrong on the page, in
// NOTIFY mode: the Activity list starts with the changes made before the
// page opened; "1 change", not "1 changes"; the Row data column, always
// empty in NOTIFY mode, is hidden; a statement-level change's "no id
// (statement)" stays on one line; the table page's title names the table;
// the table view's times are 24-hour like the list's; and the sidebar's
// row count moves with the table view's, as PostgreSQL counts the rows.
func TestE2EPageDetails(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{})
	b.waitReady(t)
	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4200) RETURNING id::text`)
	waitFor(t, 10*time.Second, "the change recorded", func() bool {
		_, total := b.a.web.Recent.Snapshot(streamFilter{})
		return total == 1
	})
	psql := psqlRunner(t, b.url)
	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 15*time.Second, "open the page: the change made before it is listed",
		chromedp.Navigate(b.ts.URL+"/"),
		chromedp.WaitVisible(`#status[data-state="connected"][data-source="notify"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-history="true"][data-table="demo.orders"][data-row-id="%s"]`, id)),
	)
	if got := eval(t, ctx, 2*time.Second, chromedp.Text(`#counts`)); got != "1 change" {
		t.Errorf("counts = %q, want \"1 change\"", got)
	}
	if got := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector("#changes th.data")).display + "/" + getComputedStyle(document.querySelector("#rows td.data")).display`)); got != "none/none" {
		t.Errorf("Row data column display = %s in NOTIFY mode, want none/none", got)
	}

	// A statement-level change has no row id; its cell must not break
	// inside a word, even where the column is narrow.
	step(t, ctx, 5*time.Second, "a narrow window", chromedp.EmulateViewport(520, 800))
	psql(`INSERT INTO demo.events_log (message) VALUES ('a statement')`)
	step(t, ctx, 2*time.Second, "see the statement-level change",
		chromedp.WaitVisible(`#rows tr[data-table="demo.events_log"] td.row-id.none`),
	)
	if got := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](
		`(function(){var td=document.querySelector('#rows tr[data-table="demo.events_log"] td.row-id.none');`+
			`var r=document.createRange(); r.selectNodeContents(td);`+
			`var tops={}; Array.prototype.forEach.call(r.getClientRects(), function(x){ tops[Math.round(x.top)]=true; });`+
			`return td.textContent + " on " + Object.keys(tops).length + " line(s)"})()`)); got != "no id (statement) on 1 line(s)" {
		t.Errorf("statement cell: %s, want it on 1 line", got)
	}
	if got := eval(t, ctx, 2*time.Second, chromedp.Text(`#counts`)); got != "2 changes" {
		t.Errorf("counts = %q, want \"2 changes\"", got)
	}
	step(t, ctx, 5*time.Second, "a wide window again", chromedp.EmulateViewport(1280, 860))

	// The table page.
	step(t, ctx, 15*time.Second, "open the table page",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
		chromedp.WaitVisible(`#table-view[data-loads="1"][data-rows="1"]`),
	)
	title := eval(t, ctx, 2*time.Second, chromedp.Title())
	heading := eval(t, ctx, 2*time.Second, chromedp.Text(`.top .page`))
	if !strings.HasPrefix(title, "demo.orders") || strings.Contains(title, "Activity") || heading != "Table" {
		t.Errorf("table page title %q, heading %q; want the table named and no \"Activity\"", title, heading)
	}
	note := eval(t, ctx, 2*time.Second, chromedp.Text(`#tv-note`))
	if !regexp.MustCompile(`loaded \d\d:\d\d:\d\d \(`).MatchString(note) || regexp.MustCompile(`(?i)\b[AP]M\b`).MatchString(note) {
		t.Errorf("table view note %q: want a 24-hour HH:MM:SS time like the list's", note)
	}

	// The sidebar's count and the table view's move together, and agree
	// with PostgreSQL.
	agree := func(what string) {
		t.Helper()
		n := psql(`SELECT count(*) FROM demo.orders`)
		within(t, ctx, what, fmt.Sprintf(
			`document.getElementById("table-view").dataset.rows==="%[1]s" && `+
				`(document.querySelector('#tables li[data-table="demo.orders"]')||{dataset:{}}).dataset.rows==="%[1]s"`, n))
	}
	agree("the counts at load")
	for range 2 {
		psql(`INSERT INTO demo.orders (amount_cents) VALUES (1)`)
		agree("the counts after an INSERT")
	}
	psql(fmt.Sprintf(`DELETE FROM demo.orders WHERE id = %s`, id))
	agree("the counts after a DELETE")

	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}
