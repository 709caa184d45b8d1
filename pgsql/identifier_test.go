package pgsql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

func TestCheckIdentifier(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"users", true}, {"MixedCase", true}, {"a:b.c", true}, {strings.Repeat("a", 63), true},
		{"", false}, {strings.Repeat("a", 64), false}, {"a\x00b", false}, {"\xff", false},
	} {
		err := pgsql.CheckIdentifier("table", tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, pgsql.ErrInvalidIdentifier)) {
			t.Errorf("CheckIdentifier(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckSlotName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"phoenixkitdb", true}, {"slot_1", true}, {strings.Repeat("a", 63), true},
		{"", false}, {strings.Repeat("a", 64), false}, {"Slot", false}, {"a-b", false}, {"a b", false},
	} {
		err := pgsql.CheckSlotName(tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, pgsql.ErrInvalidIdentifier)) {
			t.Errorf("CheckSlotName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestTable(t *testing.T) {
	tb := pgsql.Table{Schema: "My Schema", Name: `a"b`}
	if got, want := tb.Quoted(), `"My Schema"."a""b"`; got != want {
		t.Errorf("Quoted() = %s, want %s", got, want)
	}
	if got, want := tb.String(), `My Schema.a"b`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if err := (pgsql.Table{Schema: "public", Name: ""}).Check(); !errors.Is(err, pgsql.ErrInvalidIdentifier) {
		t.Errorf("Check of an empty name = %v, want ErrInvalidIdentifier", err)
	}
}
