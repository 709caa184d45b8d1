package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
)

func TestParseFlags(t *testing.T) {
	env := func(url string) func(string) string {
		return func(k string) string {
			if k == "DATABASE_URL" {
				return url
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		wantErr  bool
		wantURL  string
		wantDemo bool
	}{
		{name: "defaults: embedded with demo", wantDemo: true},
		{name: "DATABASE_URL: demo off", env: "postgres://h/db", wantURL: "postgres://h/db"},
		{name: "flag beats env", args: []string{"-database-url", "postgres://f/db"}, env: "postgres://h/db", wantURL: "postgres://f/db"},
		{name: "demo forced on", args: []string{"-database-url", "postgres://f/db", "-demo"}, wantURL: "postgres://f/db", wantDemo: true},
		{name: "demo forced off", args: []string{"-demo=false"}},
		{name: "bad level", args: []string{"-log-level", "loud"}, wantErr: true},
		{name: "bad format", args: []string{"-log-format", "xml"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "-drop-slot needs a database", args: []string{"-drop-slot"}, wantErr: true},
		{name: "-remove-triggers needs a database", args: []string{"-remove-triggers"}, wantErr: true},
		{name: "-drop-slot on a database", args: []string{"-drop-slot"}, env: "postgres://h/db", wantURL: "postgres://h/db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard, env(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if o.databaseURL != tc.wantURL || o.demo != tc.wantDemo {
				t.Fatalf("url %q demo %v, want %q %v", o.databaseURL, o.demo, tc.wantURL, tc.wantDemo)
			}
			if o.addr != "127.0.0.1:8080" || o.demoInterval != 800*time.Millisecond {
				t.Fatalf("defaults: addr %q interval %v", o.addr, o.demoInterval)
			}
		})
	}
}

// TestParseSource: -source picks the change source (notify by default),
// -slot and -publication default to the library's names.
func TestParseSource(t *testing.T) {
	none := func(string) string { return "" }
	o, err := parseFlags(nil, io.Discard, none)
	if err != nil || o.source != phoenixkitdb.SourceNotify || o.slot != "phoenixkitdb" || o.publication != "phoenixkitdb" {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-source=wal", "-slot", "mine"}, io.Discard, none)
	if err != nil || o.source != phoenixkitdb.SourceWAL || o.slot != "mine" {
		t.Fatalf("-source=wal -slot mine: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-source", "kafka"}, io.Discard, none); err == nil {
		t.Fatal("-source kafka accepted")
	}
}

// TestLoggerFormats: JSON on request; tint text without colour codes when
// the output is not a terminal.
func TestLoggerFormats(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, "text", slog.LevelInfo, func(string) string { return "" }).Info("hello", "k", "v")
	if strings.Contains(buf.String(), "\x1b[") || !strings.Contains(buf.String(), "hello") {
		t.Fatalf("text log to a buffer = %q, want plain text", buf.String())
	}
	buf.Reset()
	newLogger(&buf, "json", slog.LevelInfo, nil).Debug("hidden")
	newLogger(&buf, "json", slog.LevelInfo, nil).Info("shown", "k", "v")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) {
		t.Fatalf("json log = %q", got)
	}
}

func TestPageURL(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{IP: net.IPv6zero, Port: 80}, "http://localhost:80/"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, "http://[::1]:1/"},
	} {
		if got := pageURL(tc.addr); got != tc.want {
			t.Errorf("pageURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestExposedAddr: only loopback addresses count as private; the app warns
// for every other one (0.0.0.0 and :: included).
func TestExposedAddr(t *testing.T) {
	for _, tc := range []struct {
		ip   net.IP
		want bool
	}{
		{net.IPv4(127, 0, 0, 1), false},
		{net.IPv6loopback, false},
		{net.IPv4zero, true},
		{net.IPv6zero, true},
		{net.IPv4(192, 168, 1, 10), true},
	} {
		if got := exposed(&net.TCPAddr{IP: tc.ip, Port: 8080}); got != tc.want {
			t.Errorf("exposed(%v) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}
