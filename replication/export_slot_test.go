package replication

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// CreateSlotOn creates slot, persistent, on a fresh replication connection
// to connString and returns the position createSlot reports.
func CreateSlotOn(ctx context.Context, connString, slot string) (uint64, error) {
	pc, err := parseConnString(connString, Config{})
	if err != nil {
		return 0, err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lsn, err := createSlot(ctx, conn, slot, false)
	return uint64(lsn), err
}

// CheckServerVersion is checkServerVersion on a fresh replication
// connection to connString.
func CheckServerVersion(ctx context.Context, connString string) error {
	pc, err := parseConnString(connString, Config{})
	if err != nil {
		return err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return checkServerVersion(conn)
}
