package replication_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// A publication another role owns is refused by PostgreSQL with "must be
// owner of publication": the error names the owner, the way to a
// publication of one's own (Config.Publication, -publication) and the
// statement that hands it over. The other permission errors name what is
// missing.
func TestEnsurePublicationErrorsNameTheFix(t *testing.T) {
	f := setupRoles(t)
	requireSupported(t, f.db)
	owner, user := pgtest.NewRole(t, f.url, "pubowner"), pgtest.NewRole(t, f.url, "pubuser")
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	var dbname string
	if err := f.db.QueryRow(t.Context(), "SELECT current_database()").Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	f.exec(t,
		"CREATE TABLE public.mine (id int PRIMARY KEY)", "ALTER TABLE public.mine OWNER TO "+q(user),
		"CREATE TABLE public.theirs (id int PRIMARY KEY)",
		"CREATE PUBLICATION pkdb_taken", "ALTER PUBLICATION pkdb_taken OWNER TO "+q(owner))
	c := connectAs(t, f, user)

	// The owner as PostgreSQL reports it.
	var gotOwner string
	if err := f.db.QueryRow(t.Context(), "SELECT pubowner::regrole::text FROM pg_publication WHERE pubname = 'pkdb_taken'").Scan(&gotOwner); err != nil {
		t.Fatal(err)
	}
	mine := pgsql.Table{Schema: "public", Name: "mine"}
	for _, c2 := range []struct {
		name string
		run  func() error
		want []string
	}{
		{"ensure", func() error { return replication.EnsurePublication(t.Context(), c, "pkdb_taken", mine) },
			[]string{"must be owner of publication", `belongs to role "` + gotOwner + `"`, "Config.Publication", "-publication",
				`ALTER PUBLICATION "pkdb_taken" OWNER TO "` + user + `"`}},
		{"remove", func() error {
			f.exec(t, "ALTER PUBLICATION pkdb_taken ADD TABLE public.mine")
			return replication.RemoveFromPublication(t.Context(), c, "pkdb_taken", mine)
		}, []string{"must be owner of publication", `belongs to role "` + gotOwner + `"`, "Config.Publication"}},
		{"not the table's owner", func() error {
			execOn(t, c, "RESET ROLE", "GRANT CREATE ON DATABASE "+q(dbname)+" TO "+q(user), "SET ROLE "+q(user))
			return replication.EnsurePublication(t.Context(), c, "pkdb_mine", pgsql.Table{Schema: "public", Name: "theirs"})
		}, []string{"must be owner of table", "needs the table's ownership"}},
		{"no CREATE on the database", func() error {
			execOn(t, c, "RESET ROLE", "REVOKE CREATE ON DATABASE "+q(dbname)+" FROM "+q(user), "SET ROLE "+q(user))
			return replication.EnsurePublication(t.Context(), c, "pkdb_mine", mine)
		}, []string{"permission denied for database", "needs the CREATE privilege on the database", `TO "` + user + `"`}},
	} {
		err := c2.run()
		for _, w := range c2.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v; want it to say %q", c2.name, err, w)
			}
		}
	}
}
