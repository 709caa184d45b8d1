package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestTableViewAPI: the table view reads watched tables only, newest first,
// finds one row by the id a change carries, and answers 404 for a row that
// is gone, an id that is not a key value, and any table that is not
// watched (missing, hostile, or a real table without a trigger).
func TestTableViewAPI(t *testing.T) {
	b := setup(t, setupOptions{})
	c := b.ts.Client()
	var ids []string
	for _, cents := range []int{100, 200, 300} {
		ids = append(ids, b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES ($1) RETURNING id::text`, cents))
	}

	code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/api/tables/demo/orders/rows")
	if code != http.StatusOK {
		t.Fatalf("rows = %d %s", code, body)
	}
	var tr tableRows
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Key != "id" || len(tr.Rows) != 3 || tr.Limit != rowsLimit || strings.Join(tr.Columns, ",") != "id,user_uuid,amount_cents,status,created_at" {
		t.Fatalf("rows = key %q, %d rows, limit %d, columns %q", tr.Key, len(tr.Rows), tr.Limit, tr.Columns)
	}
	for i, want := range []string{ids[2], ids[1], ids[0]} {
		var row struct {
			ID json.Number `json:"id"`
		}
		if err := json.Unmarshal(tr.Rows[i], &row); err != nil || row.ID.String() != want {
			t.Fatalf("row %d = %s (%v), want id %s: newest first", i, tr.Rows[i], err, want)
		}
	}

	code, body, _ = get(t, c, http.MethodGet, b.ts.URL+"/api/tables/demo/orders/rows/"+ids[1])
	if code != http.StatusOK || !strings.Contains(body, `"amount_cents":200`) {
		t.Fatalf("row %s = %d %s", ids[1], code, body)
	}
	b.exec(t, `DELETE FROM demo.orders WHERE id = $1`, ids[1])
	for _, id := range []string{ids[1], "not-a-number", "99999999999999999999999"} {
		if code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/api/tables/demo/orders/rows/"+id); code != http.StatusNotFound {
			t.Errorf("row %q = %d %s, want 404", id, code, body)
		}
	}

	// A uuid-keyed table without an id: keyed by uuid, newest by created_at.
	b.exec(t, `INSERT INTO demo.users (name, email, created_at) VALUES ('old', 'o@example.com', now() - interval '1 day'), ('new', 'n@example.com', now())`)
	code, body, _ = get(t, c, http.MethodGet, b.ts.URL+"/api/tables/demo/users/rows")
	if code != http.StatusOK || !strings.Contains(body, `"key":"uuid"`) || strings.Index(body, `"new"`) > strings.Index(body, `"old"`) {
		t.Fatalf("users rows = %d %s, want key uuid and the newest first", code, body)
	}

	b.exec(t, `CREATE TABLE public.untriggered (id int PRIMARY KEY, secret text)`)
	b.exec(t, `INSERT INTO public.untriggered VALUES (1, 'hidden')`)
	for _, path := range []string{
		"/api/tables/demo/nope/rows",
		"/api/tables/public/untriggered/rows",
		"/api/tables/public/untriggered/rows/1",
		"/api/tables/pg_catalog/pg_authid/rows",
		`/api/tables/demo/orders%22%3B%20DROP%20TABLE%20demo.orders%3B--/rows`,
	} {
		if code, body, _ := get(t, c, http.MethodGet, b.ts.URL+path); code != http.StatusNotFound || strings.Contains(body, "hidden") {
			t.Errorf("GET %s = %d %s, want 404", path, code, body)
		}
	}
	if n := b.scalar(t, `SELECT count(*)::text FROM demo.orders`); n != "2" {
		t.Fatalf("demo.orders has %s rows, want 2", n)
	}
}

// TestTablePage404: the per-table page exists for watched tables only.
func TestTablePage404(t *testing.T) {
	b := setup(t, setupOptions{})
	c := b.ts.Client()
	if code, body, _ := get(t, c, http.MethodGet, b.ts.URL+"/tables/demo/orders"); code != http.StatusOK || !strings.Contains(body, "table-view") {
		t.Fatalf("/tables/demo/orders = %d, want the page", code)
	}
	b.exec(t, `CREATE TABLE public.untriggered (id int PRIMARY KEY)`)
	for _, path := range []string{"/tables/demo/nope", "/tables/public/untriggered", "/tables/demo/orders%27--", "/tables/nope/orders"} {
		if code, _, _ := get(t, c, http.MethodGet, b.ts.URL+path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}
