package trigger_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// TestEnsureErrorsNameTheFix: the errors a new user meets first say
// what to do: a name in the wrong case names the one that exists, and a
// missing privilege names the privilege.
func TestEnsureErrorsNameTheFix(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, `CREATE SCHEMA shop`, `CREATE TABLE shop."Orders" (id int)`, `CREATE TABLE shop.items (id int)`)
	for _, c := range []struct{ schema, table, want string }{
		{"Shop", "Orders", `names are case-sensitive: schema "shop" exists, with table "shop"."Orders"`},
		{"shop", "orders", `names are case-sensitive: table "shop"."Orders" exists`},
		{"shop", "nothere", `table "shop"."nothere" does not exist`},
		{"nowhere", "t", `schema "nowhere" does not exist`},
	} {
		err := trigger.Ensure(t.Context(), f.db, c.schema, c.table)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Ensure(%s, %s) = %v, want it to say %q", c.schema, c.table, err, c.want)
		}
	}

	role := pgtest.NewRole(t, f.url, "noperm")
	f.exec(t, "GRANT USAGE, CREATE ON SCHEMA shop TO "+pgx.Identifier{role}.Sanitize(),
		"GRANT SELECT ON shop.items TO "+pgx.Identifier{role}.Sanitize())
	c := connectAs(t, f, role)
	err := trigger.Ensure(t.Context(), c, "shop", "items")
	if err == nil || !strings.Contains(err.Error(), "TRIGGER privilege") || !strings.Contains(err.Error(), `GRANT TRIGGER ON "shop"."items" TO "noperm_`) {
		t.Fatalf("Ensure without the privilege = %v, want it to name the TRIGGER privilege and the GRANT", err)
	}
}
