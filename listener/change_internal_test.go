package listener

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/strblock"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// parseBoth parses payload with ParsePayload and with parseChange (twice,
// so that the second look-up of the table hits the cache) and fails the
// test unless all three agree on the event and on the error.
func parseBoth(t *testing.T, payload string, names *tableNames, ids *strblock.Block) {
	t.Helper()
	want, wantErr := ParsePayload(payload)
	for i := range 2 {
		buf := []byte(payload)
		var got pubsub.Event
		err := parseChange(&got, buf, names, ids)
		// The event must not alias the read buffer, which is reused.
		for j := range buf {
			buf[j] = '#'
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || (err != nil && !errors.Is(err, ErrInvalidPayload)) {
			t.Fatalf("parseChange(%q) #%d error %v, ParsePayload error %v", payload, i, err, wantErr)
		}
		if got.String() != want.String() || got.Kind != want.Kind || got.Schema != want.Schema ||
			got.Table != want.Table || got.Operation != want.Operation || got.RowID != want.RowID ||
			got.Reason != "" || got.New != nil || got.Old != nil || got.LSN != 0 || !got.CommitTime.IsZero() {
			t.Fatalf("parseChange(%q) #%d = %+v, ParsePayload = %+v", payload, i, got, want)
		}
	}
}

func TestParseChangeMatchesParsePayload(t *testing.T) {
	names, ids := &tableNames{}, &strblock.Block{}
	for _, p := range []string{
		"public.users:INSERT:42", "public.users:UPDATE:3f1c8a56-0000-4000-8000-000000000000",
		"public.orders:DELETE:7", "public.users:DELETE:", "s.t:TRUNCATE:", "a.b.c:INSERT:x:y",
		"public.users:INSERT:" + strings.Repeat("9", strblock.MaxShared+1), // its own allocation
		"", "::", "a.b:UPDATE", "public.users", "public.:INSERT:1", ".users:INSERT:1",
		"users:INSERT:1", "public.users:insert:1", "public.users::1", ":INSERT:1",
	} {
		parseBoth(t, p, names, ids)
	}
}

// Row ids copied into shared blocks keep their value while later ones
// fill the block and the next blocks.
func TestRowIDsStayIntact(t *testing.T) {
	var ids strblock.Block
	var got []string
	for i := range 3 * strblock.Size / 8 {
		got = append(got, ids.Copy(fmt.Appendf(nil, "%07d", i)))
	}
	for i, s := range got {
		if want := fmt.Sprintf("%07d", i); s != want {
			t.Fatalf("row id %d is %q, want %q", i, s, want)
		}
	}
}

// The table memory of a session is bounded: past maxTableNames tables it
// starts afresh, and still parses every table right.
func TestTableNamesBounded(t *testing.T) {
	var names tableNames
	for i := range 3 * maxTableNames {
		schema, table, ok := names.lookup(fmt.Appendf(nil, "s%d.t%d", i, i))
		if !ok || schema != fmt.Sprintf("s%d", i) || table != fmt.Sprintf("t%d", i) {
			t.Fatalf("lookup %d = %q, %q, %v", i, schema, table, ok)
		}
		if len(names.byRef) > maxTableNames {
			t.Fatalf("%d tables remembered, above %d", len(names.byRef), maxTableNames)
		}
	}
}

// parseChange allocates nothing for a table it has seen and a row id that
// fits the current block.
func TestParseChangeAllocations(t *testing.T) {
	names, ids := &tableNames{}, &strblock.Block{}
	payload := []byte("public.users:UPDATE:3f1c8a56-0000-4000-8000-000000000000")
	var ev pubsub.Event
	if err := parseChange(&ev, payload, names, ids); err != nil {
		t.Fatal(err)
	}
	// One block of row ids per strblock.Size/36 events: well under one
	// allocation per event.
	if allocs := testing.AllocsPerRun(1000, func() { _ = parseChange(&ev, payload, names, ids) }); allocs > 0.1 {
		t.Fatalf("%.2f allocations per change", allocs)
	}
}

func FuzzParseChange(f *testing.F) {
	for _, s := range []string{"public.users:INSERT:42", "s.t:TRUNCATE:", "a.b:DELETE:x:y", "", "::", "a.b:UPDATE", "a.:INSERT:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		names, ids := &tableNames{}, &strblock.Block{}
		parseBoth(t, payload, names, ids)
		// A hit in the table map rather than on the last table.
		parseBoth(t, "other.table:INSERT:1", names, ids)
		parseBoth(t, payload, names, ids)
	})
}

func BenchmarkParseChange(b *testing.B) {
	names, ids := &tableNames{}, &strblock.Block{}
	payload := []byte("public.users:UPDATE:3f1c8a56-0000-4000-8000-000000000000")
	var ev pubsub.Event
	b.ReportAllocs()
	for b.Loop() {
		if err := parseChange(&ev, payload, names, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// changePayload takes exactly the notifications on the change channel that
// parseNotification accepts, with the same payload, and nothing else.
func FuzzChangePayload(f *testing.F) {
	for _, body := range [][]byte{
		wireNotify(7, DefaultChannel, "public.users:INSERT:42")[5:],
		wireNotify(7, DefaultChannel, "")[5:],
		wireNotify(7, DefaultChannel+"x", "public.users:INSERT:42")[5:],
		wireNotify(7, "phoenix_kit_db", "public.users:INSERT:42")[5:],
		wireNotify(7, DefaultChannel, "a\x00b")[5:],
		[]byte("\x00\x00\x00\x07" + DefaultChannel + "\x00abc"),
		[]byte("\x00\x00\x00\x07" + DefaultChannel),
		{0, 0, 0},
	} {
		f.Add(body)
	}
	s := &wireSession{l: &Listener{cfg: Config{Channel: DefaultChannel}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := s.changePayload(body)
		channel, payload, err := parseNotification(body)
		want := err == nil && string(channel) == DefaultChannel
		if ok != want || (ok && string(got) != string(payload)) {
			t.Fatalf("changePayload(%q) = %q, %v; parseNotification: %q, %q, %v", body, got, ok, channel, payload, err)
		}
	})
}
