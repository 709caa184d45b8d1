package replication_test

import (
	"bufio"
	"fmt"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// These tests run testdata/ackconsumer, a WAL consumer in a process of
// its own, and SIGKILL it: what the next run receives shows what the
// slot kept.

// buildConsumer builds testdata/ackconsumer and returns its path.
func buildConsumer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ackconsumer")
	if out, err := osexec.Command("go", "build", "-o", bin, "./testdata/ackconsumer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// printed is a change the consumer processed.
type printed struct {
	lsn, seq uint64
	id       int64
	commit   time.Time
}

// consumer is one run of the consumer program.
type consumer struct {
	t      *testing.T
	name   string
	cmd    *osexec.Cmd
	lines  chan string
	exited chan error
	log    *pgtest.LogBuffer
	got    []printed
}

// startConsumer runs the consumer on slot with args and waits until it
// streams.
func startConsumer(t *testing.T, bin, name, url, slot string, args ...string) *consumer {
	t.Helper()
	c := &consumer{t: t, name: name, lines: make(chan string, 1024), exited: make(chan error, 1), log: &pgtest.LogBuffer{}}
	c.cmd = osexec.Command(bin, append([]string{"-url", url, "-slot", slot}, args...)...)
	c.cmd.Stderr = c.log
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		// Wait only after the output was read to its end.
		c.exited <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("%s's log:\n%s", c.name, c.log.String())
		}
	})
	c.until(30*time.Second, "READY", func(line string) bool { return line == "READY" })
	return c
}

// until reads the consumer's lines, recording changes, until done(line)
// holds.
func (c *consumer) until(timeout time.Duration, what string, done func(line string) bool) {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s ended before %s", c.name, what)
			}
			if strings.HasPrefix(line, "E ") {
				c.got = append(c.got, parsePrinted(c.t, line))
			}
			if done(line) {
				return
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v", c.name, what, timeout)
		}
	}
}

// untilID reads until the change of row id arrived.
func (c *consumer) untilID(timeout time.Duration, id int64) {
	c.t.Helper()
	c.until(timeout, fmt.Sprintf("change of id %d", id), func(string) bool {
		return len(c.got) > 0 && c.got[len(c.got)-1].id == id
	})
}

// kill SIGKILLs the consumer, unless it ended, and waits for it.
func (c *consumer) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	// What it printed and nobody read is discarded.
	for range c.lines {
	}
	<-c.exited
}

func parsePrinted(t *testing.T, line string) printed {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 5 {
		t.Fatalf("bad line %q", line)
	}
	var p printed
	var err error
	var nanos int64
	if p.lsn, err = strconv.ParseUint(f[1], 10, 64); err == nil {
		if p.seq, err = strconv.ParseUint(f[2], 10, 64); err == nil {
			if p.id, err = strconv.ParseInt(f[3], 10, 64); err == nil {
				nanos, err = strconv.ParseInt(f[4], 10, 64)
			}
		}
	}
	if err != nil {
		t.Fatalf("bad line %q: %v", line, err)
	}
	p.commit = time.Unix(0, nanos)
	return p
}

// checkOrdered fails unless (lsn, seq) increases along a run.
func checkOrdered(t *testing.T, name string, got []printed) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if b.lsn < a.lsn || b.lsn == a.lsn && b.seq <= a.seq {
			t.Fatalf("%s: (%d,%d) id %d after (%d,%d) id %d: out of order or duplicated", name, b.lsn, b.seq, b.id, a.lsn, a.seq, a.id)
		}
	}
}

// processDB returns a fresh database with the items table published, and
// a slot name dropped at the end of the test.
func processDB(t *testing.T) (url, slot string) {
	t.Helper()
	url = pgtest.NewDB(t, pgtest.Require(t, pg))
	conn := connect(t, url)
	exec(t, conn, `CREATE TABLE items (id bigint PRIMARY KEY, uuid uuid NOT NULL DEFAULT gen_random_uuid(), n int, note text)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE items`)
	slot = newSlotName()
	t.Cleanup(func() { dropSlot(t, url, slot) })
	return url, slot
}

// A consumer that acknowledges each change after processing it is killed
// in the middle of a transaction of 2,000 rows: the next run receives
// every change the first did not acknowledge, nothing is lost, and a
// change received twice carries the same (LSN, Seq).
func TestAckKilledConsumerGetsUnacknowledged(t *testing.T) {
	bin := buildConsumer(t)
	url, slot := processDB(t)
	conn := connect(t, url)
	const big, total = 2000, 2100

	run1 := startConsumer(t, bin, "run 1", url, slot, "-ack", "-capacity", "16", "-delay", "2ms")
	insert(t, conn, 1, big, big)
	insert(t, conn, big+1, total, 10)
	run1.until(60*time.Second, "300 changes", func(string) bool { return len(run1.got) >= 300 })
	run1.kill()
	if last := run1.got[len(run1.got)-1]; last.id >= big {
		t.Fatalf("run 1 reached id %d: not killed inside the large transaction", last.id)
	}

	run2 := startConsumer(t, bin, "run 2", url, slot, "-ack", "-capacity", "16")
	run2.untilID(120*time.Second, total)

	checkOrdered(t, "run 1", run1.got)
	checkOrdered(t, "run 2", run2.got)
	first := map[int64]printed{}
	for _, p := range run1.got {
		first[p.id] = p
	}
	seen := map[int64]bool{}
	dups := 0
	for _, p := range run2.got {
		seen[p.id] = true
		if q, ok := first[p.id]; ok {
			dups++
			if p.lsn != q.lsn || p.seq != q.seq {
				t.Fatalf("id %d came at (%d,%d) and again at (%d,%d)", p.id, q.lsn, q.seq, p.lsn, p.seq)
			}
		}
	}
	for id := int64(1); id <= total; id++ {
		if !seen[id] {
			if _, ok := first[id]; !ok {
				t.Fatalf("id %d lost: in neither run", id)
			}
		}
	}
	// Seq is the row's place in its transaction: ids 1..2000 were
	// inserted in order by one statement.
	for _, p := range append(run1.got, run2.got...) {
		if p.id <= big && p.seq != uint64(p.id) {
			t.Fatalf("id %d has seq %d", p.id, p.seq)
		}
	}
	t.Logf("run 1 processed %d changes; run 2 received %d, %d of them again", len(run1.got), len(run2.got), dups)
}

// A consumer killed after 2 s of traffic loses at most about a second of
// confirmation: the next run replays the changes since the status update
// that follows the first hand-off within a second (and the idle
// keepalives answered at most once a second), not everything since the
// slot was created (StatusInterval is 10 s).
func TestRestartReplaysAboutASecond(t *testing.T) {
	bin := buildConsumer(t)
	url, slot := processDB(t)
	conn := connect(t, url)

	run1 := startConsumer(t, bin, "run 1", url, slot)
	began := time.Now()
	var n int64
	for time.Since(began) < 2*time.Second {
		n++
		insert(t, conn, n, n, 1)
		time.Sleep(5 * time.Millisecond)
	}
	run1.untilID(30*time.Second, n)
	run1.kill()
	lastCommit := run1.got[len(run1.got)-1].commit

	run2 := startConsumer(t, bin, "run 2", url, slot)
	const sentinel = 1_000_000
	insert(t, conn, sentinel, sentinel, 1)
	run2.untilID(30*time.Second, sentinel)
	replayed := run2.got[:len(run2.got)-1]
	if len(replayed) == 0 {
		t.Logf("nothing replayed (%d changes in 2 s)", n)
		return
	}
	checkOrdered(t, "run 2", replayed)
	if replayed[len(replayed)-1].id != n {
		t.Fatalf("run 2 replayed up to id %d, want %d", replayed[len(replayed)-1].id, n)
	}
	span := lastCommit.Sub(replayed[0].commit)
	t.Logf("%d changes in %v; run 2 replayed %d, committed over the last %v", n, lastCommit.Sub(run1.got[0].commit).Round(time.Millisecond), len(replayed), span.Round(time.Millisecond))
	if span > 1500*time.Millisecond || int64(len(replayed)) >= n {
		t.Fatalf("run 2 replayed %d of %d changes, committed over %v: want about a second's", len(replayed), n, span)
	}
}
