package phoenixkitdb_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// logicalServer starts a throwaway server with wal_level=logical for one
// test (the shared one keeps the default level) and connects to its
// postgres database. The connection, then the server, close at cleanup.
func logicalServer(ctx context.Context, t *testing.T) (srv *pgtest.Server, url string, conn *pgx.Conn) {
	t.Helper()
	pgtest.Require(t, pg)
	var err error
	srv, err = pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"wal_level": "logical"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url = srv.URL("postgres")
	conn, err = pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return srv, url, conn
}
