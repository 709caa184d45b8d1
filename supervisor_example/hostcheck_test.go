package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostCheck: a request naming a host the app was not told about (a
// DNS-rebinding page) is refused before any handler runs, GET and POST;
// the loopback names, the listen address's host and -allow-host names pass.
func TestHostCheck(t *testing.T) {
	var served int
	next := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { served++ })
	h := hostCheck(append(addrHosts("192.0.2.7:8080"), "app.example"), next)
	for _, c := range []struct {
		method, host string
		ok           bool
	}{
		{"GET", "127.0.0.1:8080", true},
		{"GET", "localhost:8080", true},
		{"GET", "LOCALHOST", true},
		{"GET", "[::1]:8080", true},
		{"GET", "192.0.2.7:8080", true},
		{"POST", "app.example", true},
		{"GET", "rebind.attacker.example:8080", false},
		{"POST", "rebind.attacker.example", false},
		{"GET", "127.0.0.1.nip.example", false},
		{"GET", "", false},
	} {
		served = 0
		req := httptest.NewRequest(c.method, "/api/tables", nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := served == 1; got != c.ok {
			t.Errorf("%s Host %q: served %v, want %v (status %d)", c.method, c.host, got, c.ok, rec.Code)
		}
		if !c.ok {
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != http.StatusMisdirectedRequest || !strings.Contains(string(body), "-allow-host") {
				t.Errorf("Host %q: %d %q, want 421 naming -allow-host", c.host, rec.Code, body)
			}
		}
	}
	if addrHosts(":8080") != nil || addrHosts("0.0.0.0:8080") != nil || addrHosts("[::]:8080") != nil {
		t.Error("a wildcard listen address must not allow every host")
	}
	served = 0
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "anything.example"
	hostCheck([]string{"*"}, next).ServeHTTP(httptest.NewRecorder(), req)
	if served != 1 {
		t.Error(`"*" must allow any host`)
	}
}
