package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/replication"
)

// MinServerVersion is the oldest PostgreSQL major version the publication
// functions and the WAL source (package replication, which refuses an
// older server at start) support. 13 reached its end of life in November
// 2025, and its pgoutput lacks what the WAL source builds on from 14 (the
// messages, streaming and binary options); see docs/replication.md.
const MinServerVersion = replication.MinServerVersion

// ErrUnsupportedServer is returned (wrapped, with the server's version) by
// the publication functions for a server older than MinServerVersion.
// Match it with errors.Is.
var ErrUnsupportedServer = errors.New("phoenixkitdb: unsupported PostgreSQL version")

// serverVersion returns the server's server_version_num (150004 for
// 15.4), the number each version-specific catalog query is chosen by.
func serverVersion(ctx context.Context, q Querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT pg_catalog.current_setting('server_version_num')::int").Scan(&v)
	return v, err
}

// supportedServer returns the server's server_version_num, or an error
// wrapping ErrUnsupportedServer when it is older than MinServerVersion.
func supportedServer(ctx context.Context, q Querier) (int, error) {
	v, err := serverVersion(ctx, q)
	if err != nil {
		return 0, err
	}
	if err := checkServerVersion(v); err != nil {
		return 0, err
	}
	return v, nil
}

// checkServerVersion refuses a server_version_num below MinServerVersion.
func checkServerVersion(num int) error {
	if num < MinServerVersion*10000 {
		return fmt.Errorf("%w: the server runs PostgreSQL %d, this library needs %d or later", ErrUnsupportedServer, num/10000, MinServerVersion)
	}
	return nil
}
