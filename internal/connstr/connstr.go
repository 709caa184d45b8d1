// Package connstr explains why a PostgreSQL connection string does not
// parse without quoting any of it: pgx masks passwords in its parse errors
// only on a best-effort basis, so the library withholds them, and this
// package says instead which part is wrong and how to fix it.
package connstr

import (
	"net/url"
	"strconv"
	"strings"
)

// Explain returns a one-line hint on what is wrong with s, a connection
// string pgx refused, naming parts of its structure (the scheme, "the
// port") but never its user, password or other values. It returns a
// generic hint when it cannot tell.
func Explain(s string) string {
	t := strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(t, "://"); ok && isScheme(scheme) {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return explainURL(rest)
		}
		// A scheme is not a secret, and naming it is the whole hint.
		return "the URL's scheme is " + strconv.Quote(scheme) + ": it must be postgres:// or postgresql://"
	}
	if strings.Contains(t, "://") || !strings.Contains(t, "=") {
		return "it is neither a postgres:// URL nor key=value pairs (such as \"host=localhost dbname=app\")"
	}
	return explainDSN(t)
}

// isScheme reports whether s has the syntax of a URL scheme.
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// explainURL looks at the part of a postgres:// URL after the scheme.
func explainURL(rest string) string {
	// A password may hold a raw "/", so the user part ends at the last
	// "@" before the query, not at the first "/".
	beforeQuery, _, _ := strings.Cut(rest, "?")
	userinfo, hosts, hasUser := cutLast(beforeQuery, "@")
	if !hasUser {
		userinfo, hosts = "", beforeQuery
	}
	hosts, _, _ = strings.Cut(hosts, "/")
	if strings.ContainsAny(userinfo, "/?#[]") {
		return "the URL's user or password holds a character that must be percent-encoded (such as @ : / ? # [ ] %): encode it, for example with url.UserPassword"
	}
	if _, err := url.PathUnescape(userinfo); err != nil {
		return "the URL's user or password holds a % that does not start a valid escape: write % as %25"
	}
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			continue
		}
		port, hasPort := "", false
		if strings.HasPrefix(h, "[") {
			end := strings.Index(h, "]")
			if end < 0 {
				return "an IPv6 host in the URL lacks its closing ]"
			}
			if len(h) > end+1 && h[end+1] != ':' {
				return "an IPv6 host in the URL is followed by something other than :port"
			}
			hasPort = len(h) > end+1
			port = strings.TrimPrefix(h[end+1:], ":")
		} else if i := strings.LastIndex(h, ":"); i >= 0 {
			port, hasPort = h[i+1:], true
		}
		if hasPort {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return "the URL's port is not a number from 1 to 65535"
			}
		}
	}
	if _, query, ok := strings.Cut(rest, "?"); ok {
		if _, err := url.ParseQuery(query); err != nil {
			return "the URL's query (after ?) does not parse: percent-encode its values"
		}
	}
	return "the URL does not parse: check that special characters in the user and password are percent-encoded and that the host and port are valid"
}

// explainDSN looks at key=value connection strings.
func explainDSN(s string) string {
	if strings.Count(s, "'")%2 != 0 {
		return "a quoted value in the key=value connection string lacks its closing ': quote values with spaces as key='a b' and write a ' inside as \\'"
	}
	return "the key=value connection string does not parse: write it as key=value pairs separated by spaces, quoting values that contain spaces"
}

// cutLast is strings.Cut at the last occurrence of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
