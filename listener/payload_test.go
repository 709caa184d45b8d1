package listener_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func TestParsePayload(t *testing.T) {
	ok := []struct {
		in                       string
		schema, table, op, rowID string
	}{
		{"public.users:INSERT:42", "public", "users", "INSERT", "42"},
		{"public.users:UPDATE:3f1c8a56-0000-4000-8000-000000000000", "public", "users", "UPDATE", "3f1c8a56-0000-4000-8000-000000000000"},
		{"public.users:DELETE:", "public", "users", "DELETE", ""},
		{"s.t:TRUNCATE:", "s", "t", "TRUNCATE", ""},
		{"s.t.with.dots:INSERT:1", "s", "t.with.dots", "INSERT", "1"},
		{"s.t:INSERT:a:b:c", "s", "t", "INSERT", "a:b:c"},
		{`My Schema.Ünïcode "t":INSERT: x `, "My Schema", `Ünïcode "t"`, "INSERT", " x "},
	}
	for _, c := range ok {
		ev, err := listener.ParsePayload(c.in)
		if err != nil {
			t.Errorf("ParsePayload(%q): %v", c.in, err)
			continue
		}
		want := pubsub.Event{Kind: pubsub.TableChanged, Schema: c.schema, Table: c.table, Operation: pubsub.Operation(c.op), RowID: c.rowID}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("ParsePayload(%q) = %+v, want %+v", c.in, ev, want)
		}
	}
	bad := []string{
		"", ":", "::", "public.users", "public.users:INSERT", "publicusers:INSERT:1",
		".users:INSERT:1", "public.:INSERT:1", "public.users:insert:1", "public.users:MERGE:1",
		"public.users::1", "\x00\x01\x02", strings.Repeat("x", 7999),
		":INSERT:1", "public.users:INSERT :1",
	}
	for _, in := range bad {
		if ev, err := listener.ParsePayload(in); !errors.Is(err, listener.ErrInvalidPayload) {
			t.Errorf("ParsePayload(%.40q) = %v, %v; want ErrInvalidPayload", in, ev, err)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"public.users:INSERT:42", "s.t:TRUNCATE:", "a.b:DELETE:x:y", "", "::", "a.b:UPDATE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		ev, err := listener.ParsePayload(payload)
		if err != nil {
			if !errors.Is(err, listener.ErrInvalidPayload) {
				t.Fatalf("error %v does not wrap ErrInvalidPayload", err)
			}
			return
		}
		// A parsed event must re-encode to exactly the payload.
		if got := ev.Schema + "." + ev.Table + ":" + string(ev.Operation) + ":" + ev.RowID; got != payload {
			t.Fatalf("re-encoded %q, payload %q", got, payload)
		}
		if strings.Contains(ev.Schema, ".") || ev.Schema == "" || ev.Table == "" || ev.Kind != pubsub.TableChanged {
			t.Fatalf("bad event %+v from %q", ev, payload)
		}
	})
}

func BenchmarkParsePayload(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := listener.ParsePayload("public.users:UPDATE:3f1c8a56-0000-4000-8000-000000000000"); err != nil {
			b.Fatal(err)
		}
	}
}
