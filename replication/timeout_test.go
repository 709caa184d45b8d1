package replication_test

import (
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// While the walsender replays a large transaction to a table outside the
// publication it sends nothing for longer than the Source's Timeout. The
// Source must find it at work and wait, not reconnect (the next
// walsender would replay the same transaction from its start, forever).
//
// Its premise does not hold reliably: on a quiet machine even 4,000,000
// spilled rows replayed without a silence past the Timeout, and one run
// under load reconnected once. Until it is made deterministic it runs only
// when PHOENIXKITDB_SLOW_REPLAY_TEST=1 (issue 20 item 5 stays open).
func TestLongUnpublishedTransactionDoesNotReconnect(t *testing.T) {
	if os.Getenv("PHOENIXKITDB_SLOW_REPLAY_TEST") != "1" {
		t.Skip("not reliable yet: set PHOENIXKITDB_SLOW_REPLAY_TEST=1 to run it (see its doc comment)")
	}
	srv := pgtest.Require(t, pg)
	db := pgtest.NewDB(t, srv)
	// The walsender spills the transaction to disk as it decodes it, and
	// reads it back at its commit: a slow replay.
	b := setup(t, options{url: db, cfg: replication.Config{Timeout: time.Second,
		ConnString: withOption(t, db, "logical_decoding_work_mem=64kB")}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	writer := connect(t, b.url)
	exec(t, writer, `CREATE TABLE big (n int)`)
	c := &collector{t: t, next: 1}
	// The replay must outlast the Timeout: a quiet machine replays 300,000
	// rows in well under a second, a loaded one takes many. Grow the
	// transaction until one replay did.
	var st replication.Stats
	for i, rows := range []int{300_000, 1_500_000, 4_000_000} {
		exec(t, writer, `INSERT INTO big SELECT g FROM generate_series(1, `+strconv.Itoa(rows)+`) g`)
		insert(t, writer, int64(i+1), int64(i+1), 1)
		c.take(b.mb, 1, 60*time.Second)
		expectNothing(t, b.mb)
		st = b.src.Stats()
		t.Logf("%d rows: busy waits %d, reconnects %d", rows, st.BusyWaits, st.Reconnects)
		if st.BusyWaits > 0 || st.Reconnects > 0 {
			break
		}
	}
	if st.BusyWaits == 0 {
		t.Fatalf("the walsender never stayed silent past the Timeout: the test proves nothing; stats %+v", st)
	}
	if st.Reconnects != 0 || st.LastError != "" {
		t.Fatalf("reconnected during the replay: stats %+v", st)
	}
	if !strings.Contains(b.logs.String(), "its walsender is at work") {
		t.Errorf("no WARN about the busy walsender; logs:\n%s", b.logs)
	}
}

// withOption adds a server setting ("name=value") to the options of a
// connection URL.
func withOption(t *testing.T, u, setting string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	q.Set("options", strings.TrimSpace(q.Get("options")+" -c "+setting))
	// pgx reads a "+" in the query as itself, not as a space.
	parsed.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return parsed.String()
}
