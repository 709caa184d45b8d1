//go:build e2e

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// tableViewDeadline is how soon a change made with psql must show in the
// table view.
const tableViewDeadline = time.Second

// TestE2ETableView drives the per-table page in headless Chromium: an
// INSERT, an UPDATE and a DELETE made with psql show in the table's rows
// within a second; a row written without a notification (triggers off in
// that session) appears only when a Resync (the Listener's backend
// terminated) reloads the view. With PHOENIXKITDB_TABLE_SCREENSHOT set it
// saves a screenshot of the page there (docs/table-view.png is made so).
func TestE2ETableView(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{})
	b.waitConnected(t)
	for _, cents := range []int{1200, 3400, 5600} {
		b.exec(t, `INSERT INTO demo.orders (amount_cents, status) VALUES ($1, 'paid')`, cents)
	}
	psql := psqlRunner(t, b.url)
	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 15*time.Second, "open the table view",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
		chromedp.WaitVisible(`#table-view[data-loads="1"][data-rows="3"]`),
	)
	if got := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](`document.getElementById("filter-table").value`)); got != "demo.orders" {
		t.Errorf("the Activity filter shows %q on the demo.orders page, want demo.orders", got)
	}

	id := psql(`INSERT INTO demo.orders (amount_cents, status) VALUES (777, 'new') RETURNING id`)
	within(t, ctx, "the INSERT in the table view", fmt.Sprintf(
		`(function(){var r=document.querySelector('#tv-rows tr[data-key="%s"]');`+
			`return !!r && r===document.querySelector('#tv-rows tr') && r.querySelector('td[data-col="amount_cents"]').textContent==="777"})()`, id))

	psql(fmt.Sprintf(`UPDATE demo.orders SET status = 'shipped' WHERE id = %s`, id))
	within(t, ctx, "the UPDATE in the table view", fmt.Sprintf(
		`(function(){var r=document.querySelector('#tv-rows tr[data-key="%s"]');`+
			`return !!r && r.querySelector('td[data-col="status"]').textContent==="shipped" && r.classList.contains("flash")})()`, id))

	psql(fmt.Sprintf(`DELETE FROM demo.orders WHERE id = %s`, id))
	within(t, ctx, "the DELETE in the table view", fmt.Sprintf(
		`!document.querySelector('#tv-rows tr[data-key="%s"]') && document.getElementById("table-view").dataset.rows==="3"`, id))

	// A row no notification announces: only a reload can show it.
	silent := psql(`SET session_replication_role = replica; INSERT INTO demo.orders (amount_cents, status) VALUES (4242, 'silent') RETURNING id`)
	if n := eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](
		fmt.Sprintf(`document.querySelectorAll('#tv-rows tr[data-key="%s"]').length`, silent))); n != 0 {
		t.Fatalf("a row written with triggers off is shown before any Resync")
	}
	pids, err := srv.Backends(context.Background(), b.app)
	if err != nil || len(pids) != 1 {
		t.Fatalf("Listener backends = %v, %v; want one", pids, err)
	}
	if err := srv.TerminateBackend(context.Background(), pids[0]); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, 10*time.Second, "the Resync reloads the table view",
		chromedp.WaitVisible(`#resync:not([hidden])`),
		chromedp.WaitVisible(`#table-view[data-loads="2"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#tv-rows tr[data-key="%s"]`, silent)),
	)

	if p := os.Getenv("PHOENIXKITDB_TABLE_SCREENSHOT"); p != "" {
		for _, cents := range []int{990, 1450} {
			psql(fmt.Sprintf(`INSERT INTO demo.orders (amount_cents, status) VALUES (%d, 'packed')`, cents))
		}
		// Caught while the newest row is still highlighted.
		within(t, ctx, "the last INSERT", `document.querySelector('#tv-rows tr').querySelector('td[data-col="amount_cents"]').textContent==="1450"`)
		shot := eval(t, ctx, 5*time.Second, chromedp.CaptureScreenshot())
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}

// within polls the JavaScript condition cond until it holds, failing the
// test if that takes longer than tableViewDeadline.
func within(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	began := time.Now()
	tctx, cancel := context.WithTimeout(ctx, tableViewDeadline)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Fatalf("%s: not within %v: %v", what, tableViewDeadline, err)
	}
	t.Logf("%s: %v", what, time.Since(began).Round(time.Millisecond))
}

// psqlRunner returns a function that runs SQL with the psql binary next
// to the server's, as a user would, and returns its unaligned output.
func psqlRunner(t *testing.T, url string) func(sql string) string {
	t.Helper()
	dir, err := pgtest.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "psql")
	return func(sql string) string {
		t.Helper()
		out, err := exec.Command(bin, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("psql -c %q: %v\n%s", sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}
