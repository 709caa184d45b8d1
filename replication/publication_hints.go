package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// publicationHintSQL reads publication's owner and the role at work.
const publicationHintSQL = `SELECT coalesce((SELECT pg_catalog.pg_get_userbyid(pubowner)
	FROM pg_catalog.pg_publication WHERE pubname = $1), ''), current_user`

// publicationHint returns what to do about err, an EnsurePublicationWith
// or RemoveFromPublication failure on publication, as a sentence to append
// ("" when it has none). For a publication another role owns it names the
// owner and the way out: a publication of the caller's own
// (Config.Publication), or the owner handing it over. It asks the catalog
// through q, which the failed transaction no longer holds; a lookup that
// fails gives no hint.
func publicationHint(ctx context.Context, q pgsql.Querier, publication string, err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		return ""
	}
	var owner, role string
	if qerr := q.QueryRow(ctx, publicationHintSQL, publication).Scan(&owner, &role); qerr != nil {
		return ""
	}
	switch msg := pgErr.Message; {
	case strings.Contains(msg, "owner of publication") && owner != "":
		return fmt.Sprintf("publication %s belongs to role %s and only its owner may change it: "+
			"use a publication of your own (Config.Publication; the example app's -publication flag), "+
			"or have %s run ALTER PUBLICATION %s OWNER TO %s",
			quoteIdent(publication), quoteIdent(owner), quoteIdent(owner), quoteIdent(publication), quoteIdent(role))
	case strings.Contains(msg, "owner of table"):
		return fmt.Sprintf("adding a table to a publication needs the table's ownership: role %s does not own it", quoteIdent(role))
	case strings.Contains(msg, "database"):
		return fmt.Sprintf("creating a publication needs the CREATE privilege on the database (GRANT CREATE ON DATABASE ... TO %s), "+
			"or create it once as a role that has it", quoteIdent(role))
	}
	return ""
}

// withPublicationHint appends publicationHint's sentence to err, if any.
func withPublicationHint(ctx context.Context, q pgsql.Querier, publication string, err error) error {
	if h := publicationHint(ctx, q, publication, err); h != "" {
		return fmt.Errorf("%w (%s)", err, h)
	}
	return err
}
