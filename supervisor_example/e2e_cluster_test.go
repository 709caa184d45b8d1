//go:build e2e

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EClusterFailover drives the Activity page of -cluster mode in
// headless Chromium: the Cluster panel names the leader and lists three
// instances; a row inserted with SQL appears; the Stop leader button
// makes another instance lead, the stopped one shows as stopped, and a
// change made after the failover appears on the same page without a
// reload; Start brings the stopped instance back as a follower. With
// PHOENIXKITDB_CLUSTER_SCREENSHOT set it saves a screenshot there.
func TestE2EClusterFailover(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{cluster: true})
	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 60*time.Second, "open the page: the source connected",
		chromedp.Navigate(b.ts.URL+"/"),
		chromedp.WaitVisible(`#cluster`),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
	)
	waitJS(t, ctx, 30*time.Second, "a leader and two followers in the panel",
		`document.querySelectorAll('#members tr[data-role="follower"]').length === 2 && `+
			`document.querySelectorAll('#members tr[data-role="leader"]').length === 1`)
	if vis := eval(t, ctx, 2*time.Second, chromedp.Evaluate[bool](`!!document.getElementById("module-toggle").offsetParent`)); vis {
		t.Error("the module toggle (one instance's Registry) shows in cluster mode")
	}
	old := eval(t, ctx, 2*time.Second, chromedp.Evaluate[string](`document.getElementById("status").dataset.leader`))
	if n, err := strconv.Atoi(old); err != nil || n < 1 || n > clusterMembers {
		t.Fatalf("data-leader = %q, want an instance number", old)
	}

	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4200) RETURNING id::text`)
	step(t, ctx, 5*time.Second, "see the inserted row",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.orders"][data-row-id="%s"]`, id)),
	)

	step(t, ctx, 10*time.Second, "stop the leader from the page", chromedp.Click(`#stop-leader`))
	waitJS(t, ctx, 10*time.Second, "another instance leads, the old one stopped", fmt.Sprintf(
		`(function(){var l=document.getElementById("status").dataset.leader;`+
			`return l !== "0" && l !== %q && document.querySelector('#members tr[data-member=%q]').dataset.role === "stopped"})()`, old, old))
	// NOTIFY: a change committed before the new leader LISTENs is not
	// seen (its followers get a Resync for it): wait for its Listener.
	waitFor(t, 30*time.Second, "the new leader's Listener", func() bool {
		m := b.a.cluster.leader()
		return m != nil && m.cl.Source().Connected()
	})
	id = b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4300) RETURNING id::text`)
	step(t, ctx, 5*time.Second, "see a change made after the failover on the same page",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.orders"][data-row-id="%s"]`, id)),
	)

	if p := os.Getenv("PHOENIXKITDB_CLUSTER_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, eval(t, ctx, 5*time.Second, chromedp.CaptureScreenshot()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	step(t, ctx, 10*time.Second, "start the stopped instance again",
		chromedp.Click(fmt.Sprintf(`#members tr[data-member=%q] button.member-toggle`, old)))
	waitJS(t, ctx, 30*time.Second, "it follows, caught up", fmt.Sprintf(
		`(function(){var r=document.querySelector('#members tr[data-member=%q]');`+
			`return r.dataset.role === "follower" && r.querySelector("td.lag").textContent === "0"})()`, old))
	if txt := eval(t, ctx, 2*time.Second, chromedp.Text(`#cluster-summary`)); !strings.Contains(txt, "stream PHOENIXKITDB") {
		t.Errorf("cluster summary = %q", txt)
	}
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}

// waitJS polls the JavaScript condition cond until it holds, failing the
// test after timeout.
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, what, cond string) {
	t.Helper()
	began := time.Now()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("%s: not within %v: %v", what, timeout, err)
	}
	t.Logf("%s: %v", what, time.Since(began).Round(time.Millisecond))
}
