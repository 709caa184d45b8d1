package where_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestIndexMatchesEval files random predicates (conjunctions, so that
// most are indexed, with BETWEEN often, and ORs of them) and checks on every row of the oracle table, and
// on rows with columns missing, that Match yields a superset of the
// predicates that Eval to True, MatchTrue exactly those (and the
// undecidable ones with ErrNoValue), after adds, removes and re-adds.
func TestIndexMatchesEval(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WHERE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (WHERE_SEED reproduces)", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	conn := connect(t)
	exec(t, conn, oracleTable)
	for id := 1; id <= 60; id++ {
		names, vals := []string{"id"}, []string{strconv.Itoa(id)}
		for _, c := range append(append([]string{}, scalarCols...), "ai", "atx", "an", "af", "ae", "au", "ad", "ac") {
			names = append(names, c)
			if r.IntN(6) == 0 {
				vals = append(vals, "NULL")
				continue
			}
			v := pool[c][r.IntN(len(pool[c]))]
			vals = append(vals, "'"+strings.ReplaceAll(v, "'", "''")+"'")
		}
		exec(t, conn, "INSERT INTO t ("+strings.Join(names, ",")+") VALUES ("+strings.Join(vals, ",")+")")
	}
	rows := loadRows(t, conn)
	rows = append(rows, withMissing(t, rows, r)...)

	cols := oracleColumns()
	ix := where.NewIndex()
	preds := map[uint64]*where.Pred{}
	next := uint64(1)
	// conj returns a conjunction of 1 to 3 random conditions, BETWEEN
	// ones more often than g.cond makes them.
	conj := func(g *gen) string {
		var parts []string
		for range 1 + r.IntN(3) {
			if r.IntN(4) == 0 {
				col := g.pick([]string{"i4", "i8", "n", "f8", "d", "ts", "c"})
				parts = append(parts, col+" BETWEEN "+g.value(col)+" AND "+g.value(col))
				continue
			}
			parts = append(parts, g.cond(1))
		}
		return strings.Join(parts, " AND ")
	}
	addRandom := func(n int) {
		for range n {
			g := &gen{r: r}
			clause := conj(g)
			if r.IntN(3) == 0 {
				// An OR at the top, filed under each disjunct.
				clause = "(" + clause + ")"
				for range 1 + r.IntN(2) {
					clause += " OR (" + conj(g) + ")"
				}
			}
			e, err := where.Parse(clause)
			if err != nil {
				t.Fatalf("Parse(%q): %v", clause, err)
			}
			p, err := where.Bind(e, cols, g.params)
			if err != nil {
				continue
			}
			ix.Add(next, p)
			preds[next] = p
			next++
		}
	}
	check := func(stage string) {
		t.Helper()
		if ix.Len() != len(preds) {
			t.Fatalf("%s: Len %d, %d filed", stage, ix.Len(), len(preds))
		}
		for ri, row := range rows {
			cand := map[uint64]int{}
			ix.Match(row, func(id uint64) { cand[id]++ })
			exact := map[uint64]error{}
			ix.MatchTrue(row, func(id uint64, err error) {
				if _, dup := exact[id]; dup {
					t.Errorf("%s: MatchTrue reported %d twice", stage, id)
				}
				exact[id] = err
			})
			for id, p := range preds {
				tr, err := p.Eval(row)
				holds, herr := p.Holds(row)
				// Decided: Holds is Eval's True. Undecided: Holds fails,
				// or says false when no value of the missing columns
				// could make the predicate True.
				decided := err == nil && herr == nil && holds == (tr == where.True)
				undecided := err != nil && (herr != nil || !holds)
				if !decided && !undecided {
					t.Errorf("%s row %d: predicate %d: Eval %v/%v, Holds %v/%v", stage, ri, id, tr, err, holds, herr)
				}
				if cand[id] > 1 {
					t.Errorf("%s: Match reported %d %d times: %s", stage, id, cand[id], p.Normal())
				}
				mayHold := holds || herr != nil
				if mayHold && cand[id] == 0 {
					t.Errorf("%s row %d: predicate %d (%s) is %v/%v but Match missed it", stage, ri, id, p.Normal(), tr, err)
				}
				got, reported := exact[id]
				switch {
				case herr != nil && (!reported || !errors.Is(got, where.ErrNoValue)):
					t.Errorf("%s row %d: predicate %d undecidable (%v) but MatchTrue gave %v, %v", stage, ri, id, herr, reported, got)
				case herr == nil && holds != reported:
					t.Errorf("%s row %d: predicate %d (%s) holds %v but MatchTrue reported %v", stage, ri, id, p.Normal(), holds, reported)
				}
			}
			for id := range cand {
				if preds[id] == nil {
					t.Errorf("%s: Match reported removed predicate %d", stage, id)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	addRandom(400)
	check("added")
	ids := slices.Collect(func(yield func(uint64) bool) {
		for id := range preds {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		if r.IntN(2) == 0 {
			ix.Remove(id)
			delete(preds, id)
		}
	}
	ix.Remove(1 << 60) // not filed: no effect
	check("removed half")
	addRandom(200)
	// Re-adding under a filed id replaces the predicate.
	for id, p := range preds {
		ix.Add(id, p)
		break
	}
	check("re-added")
	for id := range preds {
		ix.Remove(id)
		delete(preds, id)
	}
	check("emptied")
}

// withMissing returns copies of some rows with random columns Absent or
// UnchangedTOAST, as old key tuples and TOAST-preserving updates arrive.
func withMissing(t *testing.T, rows []*pubsub.Row, r *rand.Rand) []*pubsub.Row {
	t.Helper()
	var out []*pubsub.Row
	for _, row := range rows[:20] {
		cells := make([]pubsub.Cell, row.Len())
		for i := range cells {
			st, txt := row.At(i)
			cells[i] = pubsub.Cell{State: st}
			if st == pubsub.Present {
				cells[i].Text = []byte(txt)
			}
			if i > 0 && r.IntN(4) == 0 {
				cells[i] = pubsub.Cell{State: pubsub.Absent}
				if r.IntN(2) == 0 {
					cells[i].State = pubsub.UnchangedTOAST
				}
			}
		}
		nr, err := pubsub.NewRow(row.Layout(), cells)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, nr)
	}
	return out
}
