//go:build e2e

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium (apt-get install chromium); override
// with PHOENIXKITDB_CHROMIUM.
const chromiumPath = "/usr/bin/chromium"

// TestE2EActivityPage drives the Activity page in headless Chromium: a row
// inserted with SQL appears in the DOM within 2 s; after the Listener's
// backend is terminated the page reports the Resync and then shows later
// changes; the per-table page shows that table's changes. It saves a
// screenshot under t.TempDir() and, when PHOENIXKITDB_SCREENSHOT is set, at
// that path too (docs/activity.png is made that way).
func TestE2EActivityPage(t *testing.T) {
	browser := os.Getenv("PHOENIXKITDB_CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium): %v", browser, err)
	}
	b := setup(t, setupOptions{demo: true, demoInterval: 400 * time.Millisecond})
	b.waitConnected(t)

	ctx, exceptions := newBrowser(t, browser)

	step(t, ctx, 15*time.Second, "open the page",
		chromedp.Navigate(b.ts.URL+"/"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
	)

	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (4200) RETURNING id::text`)
	step(t, ctx, 2*time.Second, "see the inserted row within 2 s",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.orders"][data-op="INSERT"][data-row-id="%s"]`, id)),
	)

	pids, err := srv.Backends(context.Background(), b.app)
	if err != nil || len(pids) != 1 {
		t.Fatalf("Listener backends = %v, %v; want one", pids, err)
	}
	if err := srv.TerminateBackend(context.Background(), pids[0]); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, 10*time.Second, "see the Resync reported",
		chromedp.WaitVisible(`#resync:not([hidden])`),
		chromedp.WaitVisible(`#rows tr.marker`),
		chromedp.WaitVisible(`#status[data-state="connected"][data-reconnects="1"]`),
	)
	banner := eval(t, ctx, 2*time.Second, chromedp.Text(`#resync-text`))
	if !strings.HasPrefix(banner, "Resync at ") || !strings.Contains(banner, "(listen)") {
		t.Fatalf("resync banner = %q, want \"Resync at HH:MM:SS (listen)...\"", banner)
	}

	uuid := b.scalar(t, `INSERT INTO demo.users (name, email) VALUES ('Barbara Liskov', 'barbara@example.com') RETURNING uuid::text`)
	step(t, ctx, 2*time.Second, "see a change made after the Resync within 2 s",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.users"][data-row-id="%s"]`, uuid)),
	)

	// Let the demo fill the page a little for the screenshot.
	waitRows(t, ctx, 16)
	shot := eval(t, ctx, 5*time.Second, chromedp.CaptureScreenshot())
	saveScreenshot(t, shot)

	// Filters work on the rows already shown.
	step(t, ctx, 5*time.Second, "filter by operation",
		chromedp.SetValue(`#filter-op`, "UPDATE"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("filter-op").dispatchEvent(new Event("change"))`),
	)
	if n := eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](
		`document.querySelectorAll('#rows tr.change:not([data-op="UPDATE"])').length`)); n != 0 {
		t.Fatalf("%d non-UPDATE rows shown with the UPDATE filter", n)
	}

	// The per-table page subscribes to one table's topic.
	step(t, ctx, 15*time.Second, "open the per-table page",
		chromedp.Navigate(b.ts.URL+"/tables/demo/orders"),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
	)
	id = b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (99) RETURNING id::text`)
	step(t, ctx, 2*time.Second, "see the orders row on the per-table page",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.orders"][data-row-id="%s"]`, id)),
	)
	if n := eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](
		`document.querySelectorAll('#rows tr.change:not([data-table="demo.orders"])').length`)); n != 0 {
		t.Fatalf("%d rows of other tables on the demo.orders page", n)
	}

	// The admin toggle disables the module and enables it again.
	step(t, ctx, 10*time.Second, "disable the module from the page",
		chromedp.Click(`#module-toggle[data-enabled="true"]`),
		chromedp.WaitVisible(`#status[data-state="disabled"]`),
		chromedp.WaitVisible(`#module-toggle[data-enabled="false"]`),
	)
	step(t, ctx, 10*time.Second, "enable it again",
		chromedp.Click(`#module-toggle[data-enabled="false"]`),
		chromedp.WaitVisible(`#status[data-state="connected"]`),
	)
	id = b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (100) RETURNING id::text`)
	step(t, ctx, 2*time.Second, "see a change after re-enabling",
		chromedp.WaitVisible(fmt.Sprintf(`#rows tr[data-table="demo.orders"][data-row-id="%s"]`, id)),
	)

	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("JavaScript exceptions:\n%s", strings.Join(errs, "\n"))
	}
}

// newBrowser starts headless Chromium with a fresh profile and records
// uncaught JavaScript exceptions (the returned func lists them so far).
// t.Cleanup closes the browser and waits for it and the recorder.
func newBrowser(t *testing.T, path string) (context.Context, func() []string) {
	t.Helper()
	// Not t.TempDir: Chromium's helpers may still write into the profile
	// for a moment after the browser exits, and t.TempDir's removal fails
	// the test then.
	profile, err := os.MkdirTemp("", "sx-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 860),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))

	var mu sync.Mutex
	var errs []string
	events := chromedp.Events(ctx, runtime.ExceptionThrown)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			errs = append(errs, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Cancel closes the browser gracefully; it must run only once.
		_ = chromedp.Cancel(ctx)
		<-done
		cancel()
		cancelAlloc()
		removeWithRetry(t, profile)
	})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// removeWithRetry removes dir, retrying for up to 5 s while something
// still writes into it.
func removeWithRetry(t *testing.T, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("removing the browser profile: %v", err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// step runs actions within timeout or fails the test naming what.
func step(t *testing.T, ctx context.Context, timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s (limit %v): %v", what, timeout, err)
	}
	t.Logf("%s: %v", what, time.Since(began).Round(time.Millisecond))
}

// eval runs one action returning a value within timeout.
func eval[T any](t *testing.T, ctx context.Context, timeout time.Duration, action chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitRows waits until the page shows at least n changes.
func waitRows(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d rows on the page", n), func() bool {
		return eval(t, ctx, 2*time.Second, chromedp.Evaluate[int](`document.querySelectorAll("#rows tr.change").length`)) >= n
	})
}

// saveScreenshot writes png under t.TempDir() and to $PHOENIXKITDB_SCREENSHOT.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	paths := []string{filepath.Join(t.TempDir(), "activity.png")}
	if p := os.Getenv("PHOENIXKITDB_SCREENSHOT"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}
