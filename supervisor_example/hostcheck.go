package main

import (
	"net"
	"net/http"
	"strings"
)

// loopbackHosts are the names the page answers to by default.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostCheck refuses requests whose Host header names none of hosts (plus
// the loopback names; "*" allows any): a DNS-rebinding page, whose name
// resolves to 127.0.0.1 after it loaded, would otherwise read the API and
// post to it as the same origin. Hosts are compared without the port and
// case-insensitively.
func hostCheck(hosts []string, next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(hosts)+len(loopbackHosts))
	for _, h := range append(append([]string(nil), loopbackHosts...), hosts...) {
		if h == "*" {
			return next
		}
		allowed[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if !allowed[host] {
			http.Error(rw, "this app does not answer to host "+quoteHost(host)+
				": open it as http://127.0.0.1:PORT/ or start it with -allow-host "+quoteHost(host), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// quoteHost keeps a Host header printable in a reply.
func quoteHost(h string) string {
	if len(h) > 253 {
		h = h[:253]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, h)
}

// addrHosts returns the host of a listen address when it names one (not
// the wildcard): -addr 192.0.2.7:8080 makes the page answer to 192.0.2.7.
func addrHosts(addr string) []string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil || h == "" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		return nil
	}
	return []string{h}
}
