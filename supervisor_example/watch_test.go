package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

func TestParseWatch(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "public.orders", want: []string{"public.orders"}},
		{in: "public.orders, public.users,public.orders", want: []string{"public.orders", "public.users"}},
		{in: "Sales.Orders", want: []string{"Sales.Orders"}},
		{in: "orders", wantErr: true},
		{in: "a.b.c", wantErr: true},
		{in: ".orders", wantErr: true},
		{in: "public.", wantErr: true},
	} {
		ws, err := parseWatch(tc.in)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errBadWatch)) {
			t.Errorf("parseWatch(%q) err = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		var got []string
		for _, w := range ws {
			got = append(got, w.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseWatch(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNothingWrittenUnasked: pointed at a user's database with neither
// -demo nor -watch, the app creates no schema, table, function or trigger,
// and says how to ask for them.
func TestNothingWrittenUnasked(t *testing.T) {
	b := setup(t, setupOptions{noDemoSchema: true})
	b.waitConnected(t)
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_namespace WHERE nspname = 'demo'`); n != "0" {
		t.Errorf("schema demo created without -demo")
	}
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_trigger WHERE NOT tgisinternal`); n != "0" {
		t.Errorf("%s triggers created without -watch or -demo", n)
	}
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`); n != "0" {
		t.Errorf("%s functions created without -watch or -demo", n)
	}
	if !strings.Contains(b.logs.String(), "installing no triggers") {
		t.Errorf("the app did not say it installs nothing:\n%s", b.logs.String())
	}
}

// TestWatchInstallsOnlyNamedTables: -watch installs the change trigger on
// exactly the named tables, logs each object it creates, streams their
// changes, and a second start logs that nothing was written.
func TestWatchInstallsOnlyNamedTables(t *testing.T) {
	url := pgtest.NewDB(t, srv)
	for _, sql := range []string{
		`CREATE TABLE public.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, amount_cents int)`,
		`CREATE TABLE public.users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)`,
		`CREATE TABLE public.secrets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value text)`,
	} {
		userSQL(t, url, sql)
	}
	watch, err := parseWatch("public.orders,public.users")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, setupOptions{url: url, noDemoSchema: true, watch: watch})
	b.waitConnected(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for table, want := range map[string]bool{"orders": true, "users": true, "secrets": false} {
		has, err := trigger.Has(ctx, b.conn, "public", table)
		if err != nil {
			t.Fatal(err)
		}
		if has != want {
			t.Errorf("public.%s has trigger = %v, want %v", table, has, want)
		}
	}
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_namespace WHERE nspname = 'demo'`); n != "0" {
		t.Errorf("schema demo created by -watch")
	}
	logs := b.logs.String()
	for _, want := range []string{
		`msg="watch: created" table=public.orders object="trigger phoenix_kit_db_change_public_orders ON public.orders"`,
		`msg="watch: created" table=public.users object="trigger phoenix_kit_db_change_public_users ON public.users"`,
		`msg="watch: created" table=public.orders object="function public.`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "secrets") {
		t.Errorf("log mentions a table not watched:\n%s", logs)
	}

	s := openStream(t, b.ts.Client(), b.ts.URL+"/events")
	id := b.scalar(t, `INSERT INTO public.orders (amount_cents) VALUES (7) RETURNING id::text`)
	var c changeFrame
	s.next(t, 5*time.Second, "public.orders INSERT", isChange(t, "public.orders", "INSERT")).decode(t, &c)
	if c.RowID != id {
		t.Fatalf("row_id = %q, want %q", c.RowID, id)
	}

	again := setup(t, setupOptions{url: url, noDemoSchema: true, watch: watch})
	if logs := again.logs.String(); strings.Count(logs, "already in place; nothing written") != 2 || strings.Contains(logs, "watch: created") {
		t.Errorf("second start should write nothing:\n%s", logs)
	}
}

// TestWatchMissingTableFails: a -watch table that does not exist stops the
// start with an error naming it.
func TestWatchMissingTableFails(t *testing.T) {
	url := pgtest.NewDB(t, srv)
	watch, _ := parseWatch("public.nope")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := newApp(ctx, appConfig{DatabaseURL: url, Watch: watch})
	if err == nil || !strings.Contains(err.Error(), "public.nope") {
		t.Fatalf("newApp with -watch public.nope: err = %v, want one naming the table", err)
	}
}
