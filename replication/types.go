package replication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// firstUserOID is PostgreSQL's FirstGenbkiObjectId: types below it are
// the built-in ones of pg_type.dat, which [pubsub.Row] knows by number.
// Types from it up are resolved: the user's (from FirstNormalObjectId,
// 16384) and those initdb creates afterwards, such as the domains of
// information_schema (cardinal_number is a domain over integer). pgoutput
// sends a Type message for the same ones.
const firstUserOID = 10000

// Types a user-defined type resolves to.
const (
	textOID      = 25
	textArrayOID = 1009
)

// maxTypeDepth bounds the chains followed (a domain over a domain over
// ..., an array of a domain): a catalog loop cannot hang the Source.
const maxTypeDepth = 32

// pgType is one pg_type row, the part the resolution needs.
type pgType struct {
	typtype byte   // 'b' base, 'c' composite, 'd' domain, 'e' enum, 'p', 'r', 'm'
	base    uint32 // typbasetype, for a domain
	elem    uint32 // typelem
	array   bool   // typcategory 'A'
	arrayOf uint32 // typarray: the array type of this type
}

// typeCache maps the column types of one replication connection to the
// built-in types whose decoding rules apply (pubsub.ColumnType.DecodeOID):
// a domain to its base type, recursively; an enum to text; an array of
// domains or enums to the array of the resolved element when that is a
// built-in type. Any other type (composite, range, an extension's type
// such as citext) resolves to itself. It is filled before
// START_REPLICATION for the publication's columns and completed, for a
// type seen later, through a short side connection. Only the goroutine
// running Serve uses it.
type typeCache struct {
	resolved map[uint32]uint32 // user type -> DecodeOID
	catalog  map[uint32]pgType // the pg_type rows read so far
}

func newTypeCache() *typeCache {
	return &typeCache{resolved: make(map[uint32]uint32), catalog: make(map[uint32]pgType)}
}

// queryFunc runs one simple query and returns its rows as text.
type queryFunc func(ctx context.Context, sql string) ([][][]byte, error)

// pgconnQuery returns the queryFunc of conn, which may be a replication
// connection before START_REPLICATION.
func pgconnQuery(conn *pgconn.PgConn) queryFunc {
	return func(ctx context.Context, sql string) ([][][]byte, error) {
		res, err := conn.Exec(ctx, sql).ReadAll()
		if err != nil {
			return nil, err
		}
		if len(res) != 1 {
			return nil, errors.New("replication: reading types: unexpected result")
		}
		return res[0].Rows, nil
	}
}

// preload resolves the user-defined types of the publication's columns.
func (tc *typeCache) preload(ctx context.Context, q queryFunc, publication string) error {
	rows, err := q(ctx, `SELECT DISTINCT a.atttypid
FROM pg_catalog.pg_publication_tables AS p
JOIN pg_catalog.pg_namespace AS n ON n.nspname = p.schemaname
JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = p.tablename
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
WHERE p.pubname = `+quoteLiteral(publication)+` AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid >= `+strconv.Itoa(firstUserOID))
	if err != nil {
		return fmt.Errorf("replication: reading the publication's column types: %w", err)
	}
	oids := make([]uint32, 0, len(rows))
	for _, r := range rows {
		oid, err := parseOID(r, 0)
		if err != nil {
			return err
		}
		oids = append(oids, oid)
	}
	return tc.load(ctx, q, oids)
}

// load reads the pg_type rows of oids and of every type they lead to
// (domain bases, array elements), then resolves oids. A type missing
// from the catalog (dropped since the WAL being replayed was written)
// resolves to itself.
func (tc *typeCache) load(ctx context.Context, q queryFunc, oids []uint32) error {
	want := oids
	for range maxTypeDepth {
		var missing []string
		for _, oid := range want {
			if _, ok := tc.catalog[oid]; !ok && oid != 0 {
				missing = append(missing, strconv.FormatUint(uint64(oid), 10))
			}
		}
		if len(missing) == 0 {
			break
		}
		rows, err := q(ctx, `SELECT oid, typtype, typbasetype, typelem, typcategory = 'A', typarray
FROM pg_catalog.pg_type WHERE oid = ANY ('{`+strings.Join(missing, ",")+`}'::oid[])`)
		if err != nil {
			return fmt.Errorf("replication: reading types: %w", err)
		}
		want = want[:0:0]
		for _, r := range rows {
			oid, t, err := parseType(r)
			if err != nil {
				return err
			}
			tc.catalog[oid] = t
			switch {
			case t.typtype == 'd':
				want = append(want, t.base)
			case t.array && oid >= firstUserOID:
				want = append(want, t.elem)
			}
		}
		for _, m := range missing {
			// Gone from the catalog: remembered as an empty row, which
			// resolves to itself.
			oid, _ := strconv.ParseUint(m, 10, 32)
			if _, ok := tc.catalog[uint32(oid)]; !ok {
				tc.catalog[uint32(oid)] = pgType{}
			}
		}
	}
	for _, oid := range oids {
		tc.resolved[oid] = tc.resolve(oid, 0)
	}
	return nil
}

// resolve returns the DecodeOID of oid from the catalog rows read.
func (tc *typeCache) resolve(oid uint32, depth int) uint32 {
	if oid < firstUserOID || depth > maxTypeDepth {
		return oid
	}
	t := tc.catalog[oid]
	switch {
	case t.typtype == 'd':
		if t.base == 0 {
			return oid
		}
		return tc.resolve(t.base, depth+1)
	case t.typtype == 'e':
		return textOID
	case t.array && t.elem != 0:
		e := tc.resolve(t.elem, depth+1)
		if e == textOID {
			return textArrayOID
		}
		if e < firstUserOID {
			if a := tc.catalog[e].arrayOf; a != 0 {
				return a
			}
		}
	}
	return oid
}

// decodeOID returns the DecodeOID of a column type, looking a user type
// not yet known up through lookup (a side connection). A type that
// cannot be looked up resolves to itself: its values stay text.
func (tc *typeCache) decodeOID(oid uint32, lookup func([]uint32) error) uint32 {
	if oid < firstUserOID {
		return oid
	}
	if r, ok := tc.resolved[oid]; ok {
		return r
	}
	if lookup != nil {
		if err := lookup([]uint32{oid}); err == nil {
			if r, ok := tc.resolved[oid]; ok {
				return r
			}
		}
	}
	tc.resolved[oid] = oid
	return oid
}

// parseOID reads column i of a row as an OID.
func parseOID(row [][]byte, i int) (uint32, error) {
	if i >= len(row) {
		return 0, errors.New("replication: reading types: short row")
	}
	n, err := strconv.ParseUint(string(row[i]), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("replication: reading types: %w", err)
	}
	return uint32(n), nil
}

// parseType reads a row of load's pg_type query.
func parseType(r [][]byte) (uint32, pgType, error) {
	var t pgType
	if len(r) != 6 || len(r[1]) != 1 {
		return 0, t, errors.New("replication: reading types: unexpected row")
	}
	oid, err := parseOID(r, 0)
	if err != nil {
		return 0, t, err
	}
	t.typtype = r[1][0]
	if t.base, err = parseOID(r, 2); err != nil {
		return 0, t, err
	}
	if t.elem, err = parseOID(r, 3); err != nil {
		return 0, t, err
	}
	t.array = string(r[4]) == "t"
	if t.arrayOf, err = parseOID(r, 5); err != nil {
		return 0, t, err
	}
	return oid, t, nil
}

// decodeOID is the DecodeOID of a column type on this connection.
func (ss *session) decodeOID(oid uint32) uint32 {
	if ss.types == nil {
		ss.types = newTypeCache()
	}
	var lookup func([]uint32) error
	if ss.s.cfg.ConnString != "" {
		lookup = ss.lookupTypes
	}
	return ss.types.decodeOID(oid, lookup)
}

// lookupTypes resolves types that appeared after the preload (a type
// created, or a table added to the publication, while streaming) on a
// short ordinary connection: the replication connection is in COPY mode.
// It blocks the stream for one round trip per new type and is bounded by
// Config.Timeout.
func (ss *session) lookupTypes(oids []uint32) error {
	s := ss.s
	s.typeLookups.Add(1)
	ctx := ss.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	pc, err := parseConnString(s.cfg.ConnString, s.cfg)
	if err != nil {
		return err
	}
	delete(pc.RuntimeParams, "replication")
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		s.log.Warn("replication: cannot look up a column type; its values decode as text", "oids", oids, "err", err)
		return fmt.Errorf("replication: looking up types: %w", err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), closeTimeout)
		defer ccancel()
		_ = conn.Close(cctx)
	}()
	if err := ss.types.load(ctx, pgconnQuery(conn), oids); err != nil {
		s.log.Warn("replication: cannot look up a column type; its values decode as text", "oids", oids, "err", err)
		return err
	}
	return nil
}
