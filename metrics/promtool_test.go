package metrics_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// promtoolPath finds Prometheus's promtool: $PROMTOOL, then PATH, then
// the go install target ($GOBIN, else $GOPATH/bin), where `make promtool`
// puts it. Without it the test fails when CI=true and skips, saying how
// to install it, elsewhere.
func promtoolPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, "promtool")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	const how = "promtool not found in $PROMTOOL, PATH or the go install directory; install it with `make promtool`"
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(how + " (CI=true forbids skipping)")
	}
	t.Skip(how)
	return ""
}

// goBinDirs returns where go install puts programs.
func goBinDirs() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dirs []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.CommandContext(ctx, "go", "env", v).Output()
		if err != nil {
			continue
		}
		for _, d := range filepath.SplitList(string(bytes.TrimSpace(out))) {
			if d == "" {
				continue
			}
			if v == "GOPATH" {
				d = filepath.Join(d, "bin")
			}
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// promtool runs promtool with args and stdin, and fails the test with its
// output when it exits non-zero.
func promtool(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtoolPath(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// The alert rules pass promtool's checks with every linter, and each
// alert's unit tests (one case that must fire, one near miss that must
// not) pass under promtool test rules.
func TestAlertRulesUnderPromtool(t *testing.T) {
	promtool(t, nil, "check", "rules", "--lint=all", "--lint-fatal", filepath.Join("..", "docs", "alerts.yml"))
	promtool(t, nil, "test", "rules", filepath.Join("testdata", "alerts_test.yml"))
}
