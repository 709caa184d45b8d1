package trigger

import (
	"os"
	"strings"
	"testing"
)

// docs/triggers.md shows the installed SQL; it must match what is installed.
func TestTriggerDocsShowInstalledSQL(t *testing.T) {
	doc, err := os.ReadFile("../docs/triggers.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{rowFuncName: rowFuncBody, stmtFuncName: stmtFuncBody} {
		if !strings.Contains(string(doc), strings.TrimSpace(body)) {
			t.Errorf("docs/triggers.md does not show the current body of %s", name)
		}
	}
}

func TestTriggerNames(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct{ schema, table, main string }{
		{"public", "users", "phoenix_kit_db_change_public_users"},
		{"public", "MyTable", "phoenix_kit_db_change_public_mytable"}, // PostgreSQL folds PhoenixKit's unquoted name
		{"My Schema", `a"b.c`, "phoenix_kit_db_change_my_schema_a_b_c"},
		{"public", "日本", "phoenix_kit_db_change_public___"},
		{"public", long, ("phoenix_kit_db_change_public_" + long)[:63]},
	}
	for _, tc := range tests {
		if got := mainTriggerName(tc.schema, tc.table); got != tc.main {
			t.Errorf("mainTriggerName(%q, %q) = %q, want %q", tc.schema, tc.table, got, tc.main)
		}
	}
	if strings.HasPrefix(truncateTriggerName, triggerPrefix) || !strings.HasPrefix(truncateTriggerName, helperPrefix) {
		t.Errorf("helper %q must not match PhoenixKit's prefix %q", truncateTriggerName, triggerPrefix)
	}
}

// The helpers of version 3 are told apart from main triggers by function and
// mode, not by name: a table may itself be called "x_after".
func TestOurTriggerIsMain(t *testing.T) {
	tests := []struct {
		t    ourTrigger
		want bool
	}{
		{ourTrigger{name: "phoenix_kit_db_change_public_t", fn: rowFuncName, args: []byte("ch\x00")}, true},
		{ourTrigger{name: "phoenix_kit_db_change_public_t", fn: "phoenix_kit_notify_table_change"}, true},
		{ourTrigger{name: "phoenix_kit_db_change_public_t", fn: stmtFuncName, args: []byte("ch\x00statement\x00")}, true},
		{ourTrigger{name: "phoenix_kit_db_change_public_t_after", fn: stmtFuncName, args: []byte("ch\x00statement\x00")}, true},
		{ourTrigger{name: "phoenix_kit_db_change_public_t_after", fn: stmtFuncName, args: []byte("ch\x00row\x00")}, false},
		{ourTrigger{name: "phoenix_kit_db_change_public_t_before", fn: stmtFuncName, args: []byte("row\x00row\x00")}, false},
		{ourTrigger{name: truncateTriggerName, fn: stmtFuncName, args: []byte("ch\x00truncate\x00")}, false},
	}
	for _, tc := range tests {
		if got := tc.t.isMain(); got != tc.want {
			t.Errorf("%+v.isMain() = %v, want %v", tc.t, got, tc.want)
		}
	}
}
