package shapehttp_test

import (
	"log"
	"net/http"
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/shape"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// ExampleNew serves demo.orders to @electric-sql/client, each caller
// seeing only their tenant's rows. manager is a shape.Manager run by the
// host's supervisor (see package shape).
func ExampleNew() {
	var manager *shape.Manager // shape.New(shape.Config{Pool: pool, Changes: db.PubSub()}), served by a supervisor
	h, err := shapehttp.New(manager, shapehttp.Options{
		Tables: []string{"demo.orders"},
		Authorize: func(r *http.Request, def *shapehttp.Definition) error {
			tenant := r.Header.Get("X-Tenant") // in a real app: from the verified session
			if tenant == "" {
				return &shapehttp.Error{Status: http.StatusUnauthorized, Message: "log in first"}
			}
			cond := "tenant_id = $" + strconv.Itoa(len(def.Params)+1)
			if def.Where != "" {
				cond = "(" + def.Where + ") AND " + cond
			}
			def.Where = cond
			def.Params = append(def.Params, tenant)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	http.Handle("GET /v1/shape", h)
}
