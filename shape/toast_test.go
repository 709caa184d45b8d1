package shape_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestUnchangedTOAST: UPDATEs that leave a TOASTed note out of the WAL
// row (default replica identity) are routed through the index and keep
// shapes on the other columns, on the note itself and on both equal to
// the table: rows move in (fetched whole), move out and change in place.
func TestUnchangedTOAST(t *testing.T) {
	b := setup(t, options{})
	// Notes of 200 kB of random text: compressed, still TOASTed.
	b.exec(t, `INSERT INTO items SELECT g, 'open', g % 4, g, g % 2 = 0,
		(CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END) || string_agg(md5(g::text || i::text), '')
		FROM generate_series(1, 12) g, generate_series(1, 6000) i GROUP BY g`)
	marker := follow(subscribe(t, b.m, shape.Definition{Table: "marks"}), shape.Definition{Table: "marks"}, 0, false)
	var reps []*replica
	for _, def := range []shape.Definition{
		{Table: "items", Where: "status = $1", Params: []string{"open"}},
		{Table: "items", Where: "n = $1 OR status = $2", Params: []string{"1", "closed"}},
		{Table: "items", Where: "n BETWEEN 1 AND 2", Columns: []string{"n"}},
		{Table: "items", Where: "note LIKE 'a%' AND n >= 1"},
		{Table: "items", Where: "note LIKE 'b%'", Columns: []string{"status"}},
	} {
		reps = append(reps, follow(subscribe(t, b.m, def), def, 0, false))
	}
	b.exec(t, `UPDATE items SET status = 'closed' WHERE id <= 6`,
		`UPDATE items SET n = n + 1 WHERE id % 2 = 0`,
		`UPDATE items SET status = 'open', n = 1 WHERE id IN (1, 3, 9)`,
		`UPDATE items SET note = 'a' || note WHERE id = 5`)
	b.quiet(t, marker, 1, reps)
	b.check(t, reps)
}
