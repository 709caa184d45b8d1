package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Publications and slots for the WAL change source (Config.Source =
// SourceWAL, package replication). Names are quoted as identifiers, so case
// matters; a name PostgreSQL cannot store is rejected with
// ErrInvalidIdentifier before anything is sent.

// EnsurePublication creates publication when it does not exist and adds
// the tables not yet in it; it is idempotent and changes nothing when all
// are in place. A publication FOR ALL TABLES already holds every table.
// The tables must exist. The work runs in one transaction (a savepoint if
// q is a pgx.Tx). The role needs CREATE on the database to create a
// publication and ownership of the tables to add them.
func EnsurePublication(ctx context.Context, q Querier, publication string, tables ...Table) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	err := inTx(ctx, q, func(q Querier) error {
		exists, all, err := publicationState(ctx, q, publication)
		if err != nil {
			return err
		}
		if !exists {
			sql := "CREATE PUBLICATION " + pgx.Identifier{publication}.Sanitize()
			if len(tables) > 0 {
				sql += " FOR TABLE " + tableList(tables)
			}
			_, err := q.Exec(ctx, sql)
			return err
		}
		if all {
			return nil
		}
		missing, err := notPublished(ctx, q, publication, tables)
		if err != nil || len(missing) == 0 {
			return err
		}
		_, err = q.Exec(ctx, "ALTER PUBLICATION "+pgx.Identifier{publication}.Sanitize()+" ADD TABLE "+tableList(missing))
		return err
	})
	if err != nil {
		return fmt.Errorf("phoenixkitdb: ensure publication %q: %w", publication, err)
	}
	return nil
}

// RemoveFromPublication removes tables from publication; tables not in it,
// and a publication that does not exist, are not an error. The publication
// itself stays, even empty.
func RemoveFromPublication(ctx context.Context, q Querier, publication string, tables ...Table) error {
	if err := validatePublicationArgs(publication, tables); err != nil {
		return err
	}
	err := inTx(ctx, q, func(q Querier) error {
		published, err := ListPublishedTables(ctx, q, publication)
		if err != nil {
			return err
		}
		in := make(map[Table]bool, len(published))
		for _, t := range published {
			in[t] = true
		}
		var drop []Table
		for _, t := range tables {
			if in[t] {
				drop = append(drop, t)
				in[t] = false
			}
		}
		if len(drop) == 0 {
			return nil
		}
		_, err = q.Exec(ctx, "ALTER PUBLICATION "+pgx.Identifier{publication}.Sanitize()+" DROP TABLE "+tableList(drop))
		return err
	})
	if err != nil {
		return fmt.Errorf("phoenixkitdb: remove from publication %q: %w", publication, err)
	}
	return nil
}

// ListPublishedTables returns, sorted, the tables publication names
// explicitly (for a publication FOR ALL TABLES or FOR TABLES IN SCHEMA,
// the tables it covers). A publication that does not exist has none.
func ListPublishedTables(ctx context.Context, q Querier, publication string) ([]Table, error) {
	if err := validatePublication(publication); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname
FROM pg_catalog.pg_publication p
JOIN pg_catalog.pg_publication_rel pr ON pr.prpubid = p.oid
JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1 AND NOT p.puballtables
UNION
SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables
WHERE pubname = $1 AND (SELECT puballtables OR EXISTS (
	SELECT 1 FROM pg_catalog.pg_publication_namespace pn WHERE pn.pnpubid = p.oid)
	FROM pg_catalog.pg_publication p WHERE p.pubname = $1)
ORDER BY 1, 2`, publication)
	if err != nil {
		return nil, fmt.Errorf("phoenixkitdb: list published tables of %q: %w", publication, err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("phoenixkitdb: list published tables of %q: %w", publication, err)
	}
	return tables, nil
}

// ErrSlotActive is returned (wrapped) by DropSlot for a slot that a
// walsender still streams from after dropSlotWait.
var ErrSlotActive = errors.New("phoenixkitdb: replication slot is in use")

// dropSlotWait bounds how long DropSlot waits for a slot's walsender to
// exit: a Source that has just stopped leaves its server process ending
// for a moment after Serve returned.
const dropSlotWait = 10 * time.Second

// DropSlot drops the replication slot; a slot that does not exist is not
// an error. A slot in use cannot be dropped: DropSlot waits up to 10 s
// (bounded by ctx too) for its walsender to exit, as one does a moment
// after its Source stopped, then returns an error wrapping ErrSlotActive.
// Stop the Source first. Dropping the slot of a Source that will run
// again makes it lose the changes in between, which it reports with a
// Resync (reason "slot"). It never makes the server raise an error for an
// active slot, so it is safe inside a caller's transaction.
func DropSlot(ctx context.Context, q Querier, slot string) error {
	if err := validateSlot(slot); err != nil {
		return err
	}
	deadline := time.Now().Add(dropSlotWait)
	for {
		var dropped, active bool
		err := q.QueryRow(ctx, `WITH s AS (SELECT slot_name, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1),
d AS (SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM s WHERE NOT active)
SELECT EXISTS (SELECT 1 FROM d), COALESCE((SELECT active FROM s), false)`, slot).Scan(&dropped, &active)
		switch {
		case err != nil:
			return fmt.Errorf("phoenixkitdb: drop slot %q: %w", slot, err)
		case !active:
			return nil // dropped, or there was no such slot
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %q is still streamed from after %v", ErrSlotActive, slot, dropSlotWait)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %q: %w", ErrSlotActive, slot, ctx.Err())
		case <-t.C:
		}
	}
}

// publicationState reports whether publication exists and whether it is
// FOR ALL TABLES.
func publicationState(ctx context.Context, q Querier, publication string) (exists, all bool, err error) {
	err = q.QueryRow(ctx, `SELECT count(*) > 0, COALESCE(bool_or(puballtables), false)
FROM pg_catalog.pg_publication WHERE pubname = $1`, publication).Scan(&exists, &all)
	return exists, all, err
}

// notPublished returns the tables, deduplicated, that publication does
// not name yet.
func notPublished(ctx context.Context, q Querier, publication string, tables []Table) ([]Table, error) {
	published, err := ListPublishedTables(ctx, q, publication)
	if err != nil {
		return nil, err
	}
	in := make(map[Table]bool, len(published)+len(tables))
	for _, t := range published {
		in[t] = true
	}
	var missing []Table
	for _, t := range tables {
		if !in[t] {
			missing = append(missing, t)
			in[t] = true
		}
	}
	return missing, nil
}

func tableList(tables []Table) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = quoteTable(t.Schema, t.Name)
	}
	return strings.Join(parts, ", ")
}

func validatePublicationArgs(publication string, tables []Table) error {
	if err := validatePublication(publication); err != nil {
		return err
	}
	for _, t := range tables {
		if err := validateStored(t.Schema, t.Name); err != nil {
			return err
		}
	}
	return nil
}

func validatePublication(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty publication name", ErrInvalidIdentifier)
	case len(name) > maxIdentifierBytes:
		return fmt.Errorf("%w: publication %q is longer than %d bytes", ErrInvalidIdentifier, name, maxIdentifierBytes)
	case strings.ContainsRune(name, 0) || !utf8.ValidString(name):
		return fmt.Errorf("%w: publication %q contains NUL or invalid UTF-8", ErrInvalidIdentifier, name)
	}
	return nil
}

// validateSlot applies PostgreSQL's rule for slot names: 1 to 63 bytes of
// lower-case letters, digits and underscores.
func validateSlot(slot string) error {
	if slot == "" || len(slot) > maxIdentifierBytes {
		return fmt.Errorf("%w: slot name %q must be 1 to %d bytes", ErrInvalidIdentifier, slot, maxIdentifierBytes)
	}
	for i := 0; i < len(slot); i++ {
		c := slot[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: slot name %q may hold only lower-case letters, digits and underscores", ErrInvalidIdentifier, slot)
		}
	}
	return nil
}
