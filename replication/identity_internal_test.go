package replication

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// history is a timeline history file as PostgreSQL writes them: timeline
// 3's, with 1 ending at 0/3000000 and 2 at 0/5000000.
const history3 = "1\t0/3000000\tno recovery target specified\n\n2\t0/5000000\tbefore 2026-01-01 00:00:00+00\n"

func TestHistoryChange(t *testing.T) {
	files := func(_ context.Context, tli uint32) ([]byte, error) {
		switch tli {
		case 3:
			return []byte(history3), nil
		case 5: // forked from timeline 1, as another standby of its primary
			return []byte("1\t0/3000000\tno recovery target specified\n4\t0/5000000\tno recovery target specified\n"), nil
		}
		return nil, &pgconn.PgError{Code: "58P01", Message: "could not open file"}
	}
	id := func(sys uint64, tli uint32) serverIdentity { return serverIdentity{systemID: sys, timeline: tli} }
	for _, tc := range []struct {
		name              string
		prev, cur         serverIdentity
		delivered, walEnd uint64
		want              string // a part of the reason; "" for none
	}{
		{name: "first connection", cur: id(7, 1), delivered: 0x9000000, walEnd: 1},
		{name: "same server", prev: id(7, 1), cur: id(7, 1), delivered: 0x4000000, walEnd: 0x4000100},
		{name: "another cluster", prev: id(7, 1), cur: id(8, 1), delivered: 0x100, walEnd: 0x9000000, want: "another cluster"},
		{name: "promoted with everything delivered", prev: id(7, 2), cur: id(7, 3), delivered: 0x4ffffff, walEnd: 0x6000000},
		{name: "forked before the last delivered commit", prev: id(7, 2), cur: id(7, 3), delivered: 0x5000000, walEnd: 0x6000000, want: "forked from timeline 2 at 0/5000000"},
		{name: "from an ancestor two timelines back", prev: id(7, 1), cur: id(7, 3), delivered: 0x2000000, walEnd: 0x6000000},
		{name: "timeline went back", prev: id(7, 4), cur: id(7, 3), delivered: 0x100, walEnd: 0x6000000, want: "went back"},
		{name: "timeline not descending", prev: id(7, 2), cur: id(7, 5), delivered: 0x100, walEnd: 0x6000000, want: "does not descend from timeline 2"},
		{name: "timeline missing from the history", prev: id(7, 1), cur: id(7, 6), delivered: 0x100, walEnd: 0x6000000, want: "cannot be read"},
		{name: "a timeline not in the history", prev: id(7, 2), cur: id(7, 4), delivered: 0x100, walEnd: 0x6000000, want: "cannot be read"},
		{name: "restored snapshot of the same timeline", prev: id(7, 1), cur: id(7, 1), delivered: 0x5000000, walEnd: 0x4000000, want: "WAL ends at 0/4000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := historyChange(context.Background(), tc.prev, tc.cur, tc.delivered, tc.walEnd, files)
			if err != nil {
				t.Fatal(err)
			}
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTimelineHistory(t *testing.T) {
	forks, err := parseTimelineHistory([]byte(history3))
	if err != nil {
		t.Fatal(err)
	}
	if len(forks) != 2 || forks[1] != 0x3000000 || forks[2] != 0x5000000 {
		t.Fatalf("forks = %v", forks)
	}
	for _, bad := range []string{"x\t0/1\tr", "1\tnope\tr", "1", "1\t12\tr"} {
		if _, err := parseTimelineHistory([]byte(bad)); !errors.Is(err, errHistoryFile) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func FuzzParseTimelineHistory(f *testing.F) {
	f.Add([]byte(history3))
	f.Add([]byte("# comment\n1\t0/3000000\treason\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, content []byte) {
		forks, err := parseTimelineHistory(content)
		if err != nil && !errors.Is(err, errHistoryFile) {
			t.Fatalf("error not wrapping errHistoryFile: %v", err)
		}
		if err != nil && forks != nil {
			t.Fatal("forks with an error")
		}
	})
}
