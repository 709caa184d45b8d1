package shapehttp

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Options configure a [Handler]. The zero value serves nothing: list the
// tables in Tables. Every other zero field means the default given with it.
type Options struct {
	// Tables lists the tables clients may ask for, as "schema.table" or
	// "table" (schema public), with PostgreSQL's quoting rules. A request
	// for any other table is answered 403, whether or not it exists.
	Tables []string

	// Authorize, when set, is called for every request with the parsed
	// shape before it is served. It may refuse the request by returning
	// an error (an *Error picks the status and message; any other error
	// answers 403 "shape refused" and is logged) or narrow the shape by
	// changing def, typically adding a condition:
	//
	//	def.Where = "(" + def.Where + ") AND tenant_id = $" + strconv.Itoa(len(def.Params)+1)
	//	def.Params = append(def.Params, tenantOf(r))
	//
	// (mind an empty Where). A narrowed shape is answered with
	// Cache-Control private, so a shared cache never hands one caller's
	// rows to another. It is called concurrently.
	Authorize func(r *http.Request, def *Definition) error

	// MaxShapes bounds the shapes served at once (distinct definitions
	// with their replica mode); past it a request for a new shape is
	// answered 429 with Retry-After. Default 1000.
	MaxShapes int
	// MaxClients bounds the requests handled at once (live requests wait
	// for up to LongPollTimeout); past it requests are answered 429 with
	// Retry-After. Default 10000.
	MaxClients int
	// MaxWhereBytes bounds the size of the where parameter; a longer one
	// is answered 400. Default 4096.
	MaxWhereBytes int

	// LogBytes bounds the memory of one shape's log of recent changes
	// (the JSON of its messages plus a small overhead each); LogAge bounds
	// the age of its entries, checked when changes arrive. A client whose
	// offset is older than the log is answered 409 must-refetch. Defaults
	// 8 MiB and 10 minutes.
	LogBytes int
	LogAge   time.Duration
	// ChunkBytes bounds the body of one response: a snapshot is sent in
	// chunks of about this size, and a client behind by more of the log
	// reads several. Default 10 MiB, Electric's.
	ChunkBytes int

	// LongPollTimeout is how long a live request waits for a change
	// before it is answered up-to-date with no changes; Electric's is 20
	// seconds and the client's watchdog (45 s) expects less. Default 20s.
	LongPollTimeout time.Duration
	// SSETimeout is how long a live SSE response stays open before the
	// client reconnects. Default 60s.
	SSETimeout time.Duration
	// IdleTimeout is how long a shape nobody asks for is kept; its
	// clients come back with 409 must-refetch after that. Default 5m.
	IdleTimeout time.Duration

	// MaxAge and StaleAge are the Cache-Control max-age and
	// stale-while-revalidate, in seconds, of non-live log responses.
	// Defaults 60 and 300, Electric's.
	MaxAge, StaleAge int

	// Logger receives warnings (a feed that ended, a refused
	// authorization's error). Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its default, or an
// error for a negative one.
func (o Options) withDefaults() (Options, error) {
	for name, v := range map[string]int64{
		"MaxShapes": int64(o.MaxShapes), "MaxClients": int64(o.MaxClients), "MaxWhereBytes": int64(o.MaxWhereBytes),
		"LogBytes": int64(o.LogBytes), "LogAge": int64(o.LogAge), "ChunkBytes": int64(o.ChunkBytes),
		"LongPollTimeout": int64(o.LongPollTimeout), "SSETimeout": int64(o.SSETimeout), "IdleTimeout": int64(o.IdleTimeout),
		"MaxAge": int64(o.MaxAge), "StaleAge": int64(o.StaleAge),
	} {
		if v < 0 {
			return o, fmt.Errorf("%w: %s is negative", ErrInvalidOptions, name)
		}
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.MaxShapes, 1000)
	def(&o.MaxClients, 10000)
	def(&o.MaxWhereBytes, 4096)
	def(&o.LogBytes, 8<<20)
	def(&o.ChunkBytes, 10<<20)
	def(&o.MaxAge, 60)
	def(&o.StaleAge, 300)
	defD(&o.LogAge, 10*time.Minute)
	defD(&o.LongPollTimeout, 20*time.Second)
	defD(&o.SSETimeout, 60*time.Second)
	defD(&o.IdleTimeout, 5*time.Minute)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
