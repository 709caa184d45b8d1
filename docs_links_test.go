package phoenixkitdb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocsLinks: every relative link and #anchor in README.md,
// CHANGELOG.md and docs/*.md resolves: the file exists, and the anchor is
// a heading of the target (as GitHub renders heading ids) or an HTML id.
// Absolute URLs are not fetched.
func TestDocsLinks(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"README.md", "CHANGELOG.md"}, files...)
	anchors := map[string]map[string]bool{} // file -> its anchors, read once
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := anchors[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		anchors[path] = headingAnchors(string(b))
		return anchors[path], nil
	}
	checked := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, l := range markdownLinks(string(b)) {
			target := l.target
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s:%d: link to %q: %v", file, l.line, target, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(resolved, ".md") {
				t.Errorf("%s:%d: link to %q: an anchor in a file that is not Markdown", file, l.line, target)
				continue
			}
			a, err := anchorsOf(resolved)
			if err != nil {
				t.Errorf("%s:%d: %v", file, l.line, err)
				continue
			}
			if !a[anchor] {
				t.Errorf("%s:%d: link to %q: %s has no heading with that anchor", file, l.line, target, resolved)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link found: the parser is broken")
	}
}

// TestHeadingAnchors pins the anchor rules to GitHub's on headings these
// docs use: lower case, punctuation dropped (underscores and hyphens
// kept), spaces to hyphens, a repeated heading numbered.
func TestHeadingAnchors(t *testing.T) {
	a := headingAnchors("# Performance\n## 7 wal\n### One reader for many instances: cluster\n" +
		"## The host app's demo\n## `Config.Publication` and [links](x.md)\n## Setup\n## Setup\n" +
		"```\n# not a heading\n```\n<a id=\"custom\"></a>\n## Stream message format (v2)\n## snake_case names\n")
	for _, want := range []string{"performance", "7-wal", "one-reader-for-many-instances-cluster",
		"the-host-apps-demo", "configpublication-and-links", "setup", "setup-1", "custom",
		"stream-message-format-v2", "snake_case-names"} {
		if !a[want] {
			t.Errorf("missing anchor %q in %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Error("a line in a code block was taken for a heading")
	}
}

type mdLink struct {
	target string
	line   int
}

var (
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s*\[[^\]]+\]:\s*(\S+)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	htmlID     = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	mdLinkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// markdownLinks returns the link targets of a Markdown text, outside code
// blocks and code spans.
func markdownLinks(text string) []mdLink {
	var out []mdLink
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			out = append(out, mdLink{strings.Trim(m[1], "<>"), i + 1})
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			out = append(out, mdLink{m[1], i + 1})
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives a Markdown text's
// headings (and its HTML id and name attributes).
func headingAnchors(text string) map[string]bool {
	a := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range htmlID.FindAllStringSubmatch(line, -1) {
			a[m[1]] = true
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		slug := slugify(mdLinkText.ReplaceAllString(strings.TrimSpace(line[level:]), "$1"))
		if n := seen[slug]; n > 0 {
			a[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			a[slug] = true
		}
		seen[slug]++
	}
	return a
}

// slugify is GitHub's heading id: lower case; letters, digits, marks,
// '_' and '-' kept, spaces to '-', everything else dropped.
func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
