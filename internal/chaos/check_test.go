package chaos_test

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"strconv"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
)

// commits builds a committed stream: one transaction per payload, commit
// sequence and clock both 10, 20, 30, ... Payloads "a:..." are on table
// "public.a", anything else on "public.b".
func commits(payloads ...string) []chaos.Entry {
	var out []chaos.Entry
	for i, p := range payloads {
		table := "public.b"
		if strings.HasPrefix(p, "a:") {
			table = "public.a"
		}
		out = append(out, chaos.Entry{Seq: int64(10 * (i + 1)), Clock: int64(10 * (i + 1)), Table: table, Payload: p})
	}
	return out
}

// read turns a compact script into items: "R" is a Resync (reason
// listen), "R:reason" one for reason, "R:reason@clock" one read at clock,
// "M<n>" a Marker for subscription n, anything else a change.
func read(script ...string) []chaos.Item {
	var out []chaos.Item
	for _, s := range script {
		switch {
		case s == "R":
			out = append(out, chaos.Item{Kind: chaos.Resync, Reason: "listen"})
		case strings.HasPrefix(s, "R:"):
			reason, clock, _ := strings.Cut(s[2:], "@")
			n, _ := strconv.ParseInt(clock, 10, 64)
			out = append(out, chaos.Item{Kind: chaos.Resync, Reason: pubsub.Reason(reason), Clock: n})
		case strings.HasPrefix(s, "M"):
			out = append(out, chaos.Item{Kind: chaos.Marker, Sub: int(s[1] - '0')})
		default:
			out = append(out, chaos.Item{Kind: chaos.Change, Payload: s})
		}
	}
	return out
}

// always is a subscription that covers the whole run.
var always = []chaos.Interval{{From: 1}}

func TestCheck(t *testing.T) {
	type want struct{ lost, disordered, phantoms, covered int }
	tests := []struct {
		name      string
		committed []chaos.Entry
		tables    []string
		subs      []chaos.Interval
		items     []chaos.Item
		want      want
	}{
		{
			name:      "everything in order",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("R", "a:1", "a:2", "a:3"),
		},
		{
			name:      "gap without a Resync is a silent loss",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("a:1", "a:3"),
			want:      want{lost: 1},
		},
		{
			name:      "gap with a Resync between is covered",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("a:1", "R", "a:3"),
			want:      want{covered: 1},
		},
		{
			name:      "a Resync before the change before the gap does not cover it",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("R", "a:1", "a:3"),
			want:      want{lost: 1},
		},
		{
			name:      "a Resync after the change after the gap does not cover it",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("a:1", "a:3", "R"),
			want:      want{lost: 1},
		},
		{
			name:      "lost at the start",
			committed: commits("a:1", "a:2"),
			subs:      always,
			items:     read("a:2"),
			want:      want{lost: 1},
		},
		{
			name:      "lost at the end",
			committed: commits("a:1", "a:2"),
			subs:      always,
			items:     read("a:1"),
			want:      want{lost: 1},
		},
		{
			name:      "lost at the end, then a Resync",
			committed: commits("a:1", "a:2"),
			subs:      always,
			items:     read("a:1", "R"),
			want:      want{covered: 0},
		},
		{
			name:      "duplicate",
			committed: commits("a:1", "a:2"),
			subs:      always,
			items:     read("a:1", "a:1", "a:2"),
			want:      want{disordered: 1},
		},
		{
			name:      "reordered",
			committed: commits("a:1", "a:2", "a:3"),
			subs:      always,
			items:     read("a:1", "a:3", "a:2"),
			want:      want{lost: 1, disordered: 1},
		},
		{
			name:      "phantom",
			committed: commits("a:1", "a:2"),
			subs:      always,
			items:     read("a:1", "a:9", "a:2"),
			want:      want{phantoms: 1},
		},
		{
			name:      "other tables are not owed",
			committed: commits("a:1", "b:1", "a:2"),
			tables:    []string{"public.a"},
			subs:      always,
			items:     read("a:1", "a:2"),
		},
		{
			name:      "a change on a table not watched is a phantom",
			committed: commits("a:1", "b:1", "a:2"),
			tables:    []string{"public.a"},
			subs:      always,
			items:     read("a:1", "b:1", "a:2"),
			want:      want{phantoms: 1},
		},
		{
			name:      "changes committed before the subscription are not owed, but may arrive",
			committed: commits("a:1", "a:2", "a:3", "a:4"),
			subs:      []chaos.Interval{{From: 25}},
			items:     read("a:2", "a:3", "a:4"),
		},
		{
			name:      "the first owed change must arrive",
			committed: commits("a:1", "a:2", "a:3", "a:4"),
			subs:      []chaos.Interval{{From: 25}},
			items:     read("a:4"),
			want:      want{lost: 1},
		},
		{
			name:      "resubscribe: what was committed while away is not owed",
			committed: commits("a:1", "a:2", "a:3", "a:4", "a:5"),
			subs:      []chaos.Interval{{From: 1, To: 15}, {From: 35}},
			items:     read("a:1", "M1", "a:4", "a:5"),
		},
		{
			name:      "resubscribe: the tail of the previous subscription may be missing",
			committed: commits("a:1", "a:2", "a:3", "a:4"),
			subs:      []chaos.Interval{{From: 1, To: 25}, {From: 35}},
			items:     read("a:1", "M1", "a:4"),
		},
		{
			name:      "resubscribe: without the Marker that tail is a loss",
			committed: commits("a:1", "a:2", "a:3", "a:4"),
			subs:      []chaos.Interval{{From: 1, To: 25}, {From: 35}},
			items:     read("a:1", "a:4"),
			want:      want{lost: 1},
		},
		{
			name:      "resubscribe: changes owed after the Marker must arrive",
			committed: commits("a:1", "a:2", "a:3", "a:4", "a:5"),
			subs:      []chaos.Interval{{From: 1, To: 15}, {From: 35}},
			items:     read("a:1", "M1", "a:5"),
			want:      want{lost: 1},
		},
		{
			name:      "resubscribe: a gap inside the earlier subscription is still a loss",
			committed: commits("a:1", "a:2", "a:3", "a:4"),
			subs:      []chaos.Interval{{From: 1, To: 35}, {From: 45}},
			items:     read("a:1", "a:3", "M1"),
			want:      want{lost: 1},
		},
		{
			name: "repeated per-statement payloads: any consistent reading is accepted",
			// A greedy matcher would take the first s:INSERT and then
			// report a:2 as lost before b:3.
			committed: commits("s:INSERT:", "a:2", "s:INSERT:", "b:3"),
			subs:      always,
			items:     read("R", "s:INSERT:", "b:3"),
			// Covered is only a lower bound when payloads repeat.
			want: want{covered: 0},
		},
		{
			name:      "repeated per-statement payloads: one missing without a Resync is a loss",
			committed: commits("s:INSERT:", "s:UPDATE:", "s:INSERT:", "b:4"),
			subs:      always,
			items:     read("s:INSERT:", "s:INSERT:", "b:4"),
			want:      want{lost: 1},
		},
		{
			name:      "repeated per-statement payloads: one read twice is disorder, not a jump ahead",
			committed: commits("s:INSERT:", "a:2", "a:3", "s:INSERT:", "a:5"),
			subs:      always,
			items:     read("s:INSERT:", "s:INSERT:", "a:2", "a:3", "s:INSERT:", "a:5"),
			want:      want{disordered: 1},
		},
		{
			name:      "repeated per-statement payloads: one too many is disorder",
			committed: commits("s:INSERT:", "b:2"),
			subs:      always,
			items:     read("s:INSERT:", "b:2", "s:INSERT:"),
			want:      want{disordered: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chaos.Check(tt.committed, chaos.Mailbox{Name: "mb", Tables: tt.tables, Subs: tt.subs, Items: tt.items})
			got := want{r.Lost, r.Disordered, r.Phantoms, r.Covered}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v; problems:\n%s", got, tt.want, strings.Join(r.Problems, "\n"))
			}
			if r.OK() != (tt.want.lost+tt.want.disordered+tt.want.phantoms == 0) {
				t.Fatalf("OK() = %v with %+v", r.OK(), got)
			}
			if !r.OK() && len(r.Problems) == 0 {
				t.Fatal("a failure without a description")
			}
		})
	}
}

func TestFold(t *testing.T) {
	in := []chaos.Entry{
		{Seq: 1, Payload: "s:UPDATE:"}, {Seq: 1, Payload: "s:INSERT:"}, {Seq: 1, Payload: "s:UPDATE:"},
		{Seq: 2, Payload: "s:UPDATE:"}, {Seq: 2, Payload: "s:UPDATE:"},
	}
	var got []string
	for _, e := range chaos.Fold(in) {
		got = append(got, e.Payload)
	}
	want := "s:UPDATE: s:INSERT: s:UPDATE:"
	if strings.Join(got, " ") != want {
		t.Fatalf("Fold = %v, want %s", got, want)
	}
}

// walReasons is what the WAL soak allows.
var walReasons = []pubsub.Reason{"overflow", "start", "slot"}

// TestCheckWAL covers the stricter rules of the WAL soak: only some
// Resync reasons are allowed, and a Resync of another reason neither
// passes nor covers a gap. Each case also stands for a -chaos.sabotage
// mode: what the consumer records when it drops, duplicates or swaps
// changes, or loses the Resyncs.
func TestCheckWAL(t *testing.T) {
	type want struct{ lost, disordered, phantoms, unexpected, covered int }
	tests := []struct {
		name  string
		items []chaos.Item
		want  want
	}{
		{
			name:  "exactly once in order after the start Resync",
			items: read("R:start", "a:1", "a:2", "a:3", "a:4", "a:5", "a:6"),
		},
		{
			name:  "a lost slot covers its gap",
			items: read("R:start", "a:1", "R:slot", "a:4", "a:5", "a:6"),
			want:  want{covered: 2},
		},
		{
			name:  "an overflow covers its gap",
			items: read("R:start", "a:1", "a:2", "R:overflow", "a:4", "a:5", "a:6"),
			want:  want{covered: 1},
		},
		{
			name:  "a reconnect Resync is a failure and covers nothing",
			items: read("R:start", "a:1", "R:listen", "a:4", "a:5", "a:6"),
			want:  want{lost: 2, unexpected: 1},
		},
		{
			name:  "a reconnect Resync with no gap is still a failure",
			items: read("R:start", "a:1", "R:reconnect", "a:2", "a:3", "a:4", "a:5", "a:6"),
			want:  want{unexpected: 1},
		},
		{
			name:  "sabotage drop: a change vanishes",
			items: read("R:start", "a:1", "a:3", "a:4", "a:5", "a:6"),
			want:  want{lost: 1},
		},
		{
			name:  "sabotage dup: a change read twice",
			items: read("R:start", "a:1", "a:2", "a:2", "a:3", "a:4", "a:5", "a:6"),
			want:  want{disordered: 1},
		},
		{
			name:  "a replayed transaction read again",
			items: read("R:start", "a:1", "a:2", "a:3", "a:2", "a:3", "a:4", "a:5", "a:6"),
			want:  want{disordered: 2},
		},
		{
			name:  "sabotage noresync: the lost slot's Resync vanishes",
			items: read("a:1", "a:4", "a:5", "a:6"),
			want:  want{lost: 2},
		},
		{
			name:  "a Resync covers what committed before it was read",
			items: read("R:start@5", "a:1", "R:slot@35", "a:4", "a:5", "a:6"),
			want:  want{covered: 2},
		},
		{
			name:  "a Resync does not cover what committed after it was read",
			items: read("R:start@5", "a:1", "R:slot@25", "a:4", "a:5", "a:6"),
			want:  want{lost: 1},
		},
		{
			name:  "an overflow read late covers what was dropped before",
			items: read("R:start@5", "a:1", "R:overflow@45", "a:5", "a:6"),
			want:  want{covered: 3},
		},
		{
			name:  "a Resync read early does not cover the end",
			items: read("R:start@5", "a:1", "a:2", "a:3", "a:4", "R:slot@55"),
			want:  want{lost: 1},
		},
		{
			name:  "two changes swapped",
			items: read("R:start", "a:1", "a:3", "a:2", "a:4", "a:5", "a:6"),
			want:  want{lost: 1, disordered: 1},
		},
	}
	committed := commits("a:1", "a:2", "a:3", "a:4", "a:5", "a:6")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chaos.Check(committed, chaos.Mailbox{Name: "mb", Subs: always, Items: tt.items, Allowed: walReasons})
			got := want{r.Lost, r.Disordered, r.Phantoms, r.Unexpected, r.Covered}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v; problems:\n%s", got, tt.want, strings.Join(r.Problems, "\n"))
			}
			if r.OK() != (got == want{covered: got.covered}) {
				t.Fatalf("OK() = %v with %+v", r.OK(), got)
			}
			if !r.OK() && len(r.Problems) == 0 {
				t.Fatal("a failure without a description")
			}
		})
	}
}
