package phoenixkitdb

import (
	"os"
	"strings"
	"testing"
)

// docs/triggers.md shows the installed SQL; it must match what is installed.
func TestTriggerDocsShowInstalledSQL(t *testing.T) {
	doc, err := os.ReadFile("docs/triggers.md")
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
		for _, suffix := range []string{auxBeforeSuffix, auxAfterSuffix} {
			aux := auxTriggerName(tc.schema, tc.table, suffix)
			if len(aux) > maxIdentifierBytes || aux == tc.main || !strings.HasPrefix(aux, triggerPrefix) || !strings.HasSuffix(aux, suffix) {
				t.Errorf("auxTriggerName(%q, %q, %q) = %q", tc.schema, tc.table, suffix, aux)
			}
		}
	}
	// Two tables whose main names are cut to the same 63 bytes get distinct helper names.
	if auxTriggerName("public", long, "_after") == auxTriggerName("public", long[:62]+"b", "_after") {
		t.Error("helper names of two long tables coincide")
	}
}
