//go:build e2e

package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EWALMode drives both pages in headless Chromium with the DB module
// in WAL mode: an UPDATE made with psql shows its old and new values on
// the Activity page; in the table view an INSERT, an UPDATE and a DELETE
// show within a second without the page reading a single row back
// (data-row-fetches stays 0), and a change written while the walsender was
// terminated arrives after the reconnect without a reload (data-loads
// stays 1): the slot kept the position. With PHOENIXKITDB_WAL_SCREENSHOT
// set it saves a screenshot of the Activity page there.
func TestE2EWALMode(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{wal: true})
	b.waitReady(t)
	for _, cents := range []int{1200, 3400} {
		b.exec(t, `INSERT INTO demo.orders (amount_cents, status) VALUES ($1, 'paid')`, cents)
	}
	psql := psqlRunner(t, b.url)
	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 15*time.Second, "open the Activity page",
		chromedp.Navigate(b.ts.URL+"/"),
		chromedp.WaitVisible(`#status[data-state="connected"][data-source="wal"]`),
	)
	if txt := eval(t, ctx, 2*time.Second, chromedp.Text(`#status-detail`)); !strings.Contains(txt, "slot "+b.slot) || !strings.Contains(txt, "confirmed ") {
		t.Errorf("status detail = %q, want the slot and the confirmed position", txt)
	}
	uuid := psql(`INSERT INTO demo.users (name, email) VALUES ('Grace Hopper', 'grace@example.com') RETURNING uuid`)
	psql(fmt.Sprintf(`UPDATE demo.users SET email = 'grace@navy.example' WHERE uuid = '%s'`, uuid))
	diff := fmt.Sprintf(`#rows tr[data-op="UPDATE"][data-row-id="%s"] td.data span.diff[data-col="email"]`, uuid)
	step(t, ctx, 2*time.Second, "see the UPDATE's old and new values",
		chromedp.WaitVisible(diff),
	)
	if old, nw := eval(t, ctx, 2*time.Second, chromedp.Text(diff+` del`)), eval(t, ctx, 2*time.Second, chromedp.Text(diff+` ins`)); old != "grace@example.com" || nw != "grace@navy.example" {
		t.Errorf("UPDATE shows %q → %q, want grace@example.com → grace@navy.example", old, nw)
	}
	if n := eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](
		fmt.Sprintf(`document.querySelectorAll('#rows tr[data-op="UPDATE"][data-row-id="%s"] td.data span.diff').length`, uuid))); n != 1 {
		t.Errorf("the UPDATE shows %d changed columns, want 1 (email)", n)
	}

	// WAL changes carry rows: the Row data column shows (NOTIFY mode
	// hides it: TestE2EPageDetails).
	if got := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector("#changes th.data")).display`)); got == "none" {
		t.Errorf("the Row data column is hidden in WAL mode")
	}

	if p := os.Getenv("PHOENIXKITDB_WAL_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, eval(t, ctx, 5*time.Second, chromedp.CaptureScreenshot()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	step(t, ctx, 15*time.Second, "open the table view",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
		chromedp.WaitVisible(`#table-view[data-loads="1"][data-rows="2"]`),
	)
	id := psql(`INSERT INTO demo.orders (amount_cents, status) VALUES (777, 'new') RETURNING id`)
	within(t, ctx, "the INSERT in the table view", fmt.Sprintf(
		`(function(){var r=document.querySelector('#tv-rows tr[data-key="%s"]');`+
			`return !!r && r===document.querySelector('#tv-rows tr') && r.querySelector('td[data-col="amount_cents"]').textContent==="777"})()`, id))
	psql(fmt.Sprintf(`UPDATE demo.orders SET status = 'shipped' WHERE id = %s`, id))
	within(t, ctx, "the UPDATE in the table view", fmt.Sprintf(
		`(function(){var r=document.querySelector('#tv-rows tr[data-key="%s"]');`+
			`return !!r && r.querySelector('td[data-col="status"]').textContent==="shipped" && r.querySelector('td[data-col="amount_cents"]').textContent==="777"})()`, id))
	psql(fmt.Sprintf(`DELETE FROM demo.orders WHERE id = %s`, id))
	within(t, ctx, "the DELETE in the table view", fmt.Sprintf(
		`!document.querySelector('#tv-rows tr[data-key="%s"]') && document.getElementById("table-view").dataset.rows==="2"`, id))

	// A change written while the Source is away arrives after it
	// reconnects, from the slot: no Resync, so no reload.
	pid := psql(fmt.Sprintf(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = '%s'`, b.slot))
	if pid == "" {
		t.Fatalf("slot %s has no active walsender", b.slot)
	}
	psql(fmt.Sprintf(`SELECT pg_terminate_backend(%s)`, pid))
	id = psql(`INSERT INTO demo.orders (amount_cents, status) VALUES (4242, 'while away') RETURNING id`)
	step(t, ctx, 10*time.Second, "the change made during the outage, without a reload",
		chromedp.WaitVisible(fmt.Sprintf(`#tv-rows tr[data-key="%s"]`, id)),
	)
	if got := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](
		`var v=document.getElementById("table-view").dataset; v.loads+"/"+v.rowFetches`)); got != "1/0" {
		t.Errorf("table view loads/row fetches = %s, want 1/0: WAL changes carry the row and the slot loses nothing", got)
	}
	if n := eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](`document.querySelectorAll('#rows tr.marker').length`)); n != 0 {
		t.Errorf("%d Resync markers after a walsender restart, want none", n)
	}

	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}
