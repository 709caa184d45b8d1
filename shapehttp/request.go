package shapehttp

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// request is one parsed GET of the shape API.
type request struct {
	schema, table string
	where         string
	params        []string // $1, $2, ... in order
	columns       []string // nil: every column
	full          bool     // replica=full
	changesOnly   bool     // log=changes_only: no snapshot rows

	// The position: -1 (beforeAll), "now", or after off.
	beforeAll, now bool
	off            offset
	handle         string

	live, sse bool
	cursor    string
}

// maxParamsBytes bounds the total size of the WHERE parameters' values.
const maxParamsBytes = 64 << 10

// maxParams bounds the number of WHERE parameters.
const maxParams = 100

// parseRequest validates the query of a shape request against the limits
// and returns it, or a 400 naming the parameter at fault.
func parseRequest(q url.Values, maxWhere int) (*request, *Error) {
	for k := range q {
		if strings.HasPrefix(k, "subset__") {
			return nil, invalid(k, "subset snapshots (requestSnapshot, fetchSnapshot) are not supported by this server")
		}
	}
	r := &request{}
	table := q.Get("table")
	if table == "" {
		return nil, invalid("table", "can't be blank")
	}
	var err error
	if r.schema, r.table, err = parseTable(table); err != nil {
		return nil, invalid("table", err.Error())
	}
	r.where = q.Get("where")
	if len(r.where) > maxWhere {
		return nil, invalid("where", "is "+strconv.Itoa(len(r.where))+" bytes long; this server accepts at most "+strconv.Itoa(maxWhere))
	}
	if r.params, err = parseParams(q); err != nil {
		return nil, invalid("params", err.Error())
	}
	if c := q.Get("columns"); c != "" {
		if r.columns, err = parseIdentList(c, ','); err != nil {
			return nil, invalid("columns", err.Error())
		}
	}
	switch q.Get("replica") {
	case "", "default":
	case "full":
		r.full = true
	default:
		return nil, invalid("replica", "is invalid: want default or full")
	}
	switch q.Get("log") {
	case "", "full":
	case "changes_only":
		r.changesOnly = true
	default:
		return nil, invalid("log", "is invalid: want full or changes_only")
	}
	if r.live, err = parseBool(q, "live"); err != nil {
		return nil, invalid("live", err.Error())
	}
	sse, err := parseBool(q, "live_sse")
	if err != nil {
		return nil, invalid("live_sse", err.Error())
	}
	old, err := parseBool(q, "experimental_live_sse")
	if err != nil {
		return nil, invalid("experimental_live_sse", err.Error())
	}
	r.sse = sse || old
	if r.sse && !r.live {
		return nil, invalid("live_sse", "can't be true unless live is also true")
	}
	r.cursor = q.Get("cursor")

	o := q.Get("offset")
	switch o {
	case "":
		return nil, invalid("offset", "can't be blank")
	case offsetBeforeAll:
		r.beforeAll = true
	case offsetNow:
		r.now = true
	default:
		if r.off, err = parseOffset(o); err != nil {
			return nil, invalid("offset", err.Error())
		}
		r.handle = q.Get("handle")
		if r.handle == "" {
			return nil, invalid("handle", "can't be blank when offset != -1")
		}
	}
	if r.live && (r.beforeAll || r.now) {
		return nil, invalid("live", "can't be true when offset is -1 or now")
	}
	return r, nil
}

// parseBool reads an optional true/false parameter.
func parseBool(q url.Values, name string) (bool, error) {
	switch q.Get(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errInvalidBool
}

var errInvalidBool = stringError("is invalid: want true or false")

// stringError is a constant error.
type stringError string

func (e stringError) Error() string { return string(e) }

// parseParams reads the WHERE parameters: params[1]=a&params[2]=b, as the
// client sends them, or params={"1":"a","2":"b"} (JSON). The positions
// must be 1..n with none missing.
func parseParams(q url.Values) ([]string, error) {
	byPos := map[int]string{}
	size := 0
	add := func(k, v string) error {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > maxParams {
			return stringError("has key " + strconv.Quote(k) + ": want 1 to " + strconv.Itoa(maxParams))
		}
		if _, dup := byPos[n]; dup {
			return stringError("gives $" + k + " twice")
		}
		size += len(v)
		if size > maxParamsBytes {
			return stringError("hold more than " + strconv.Itoa(maxParamsBytes) + " bytes")
		}
		byPos[n] = v
		return nil
	}
	if j := q.Get("params"); j != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(j), &m); err != nil {
			return nil, stringError("must be a JSON object or params[n]=value")
		}
		for k, v := range m {
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case float64, bool:
				b, _ := json.Marshal(v)
				s = string(b)
			default:
				return nil, stringError("value of " + strconv.Quote(k) + " must be a string")
			}
			if err := add(k, s); err != nil {
				return nil, err
			}
		}
	}
	for k, vs := range q {
		if !strings.HasPrefix(k, "params[") || !strings.HasSuffix(k, "]") {
			continue
		}
		if len(vs) != 1 {
			return nil, stringError("gives " + k + " twice")
		}
		if err := add(k[len("params["):len(k)-1], vs[0]); err != nil {
			return nil, err
		}
	}
	if len(byPos) == 0 {
		return nil, nil
	}
	pos := make([]int, 0, len(byPos))
	for n := range byPos {
		pos = append(pos, n)
	}
	sort.Ints(pos)
	out := make([]string, len(pos))
	for i, n := range pos {
		if n != i+1 {
			return nil, stringError("lack $" + strconv.Itoa(i+1))
		}
		out[i] = byPos[n]
	}
	return out, nil
}
