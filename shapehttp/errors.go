package shapehttp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	// ErrClosed is returned for requests that arrive after Close.
	ErrClosed = errors.New("shapehttp: handler closed")
	// ErrInvalidOptions is wrapped by New when Options do not hold.
	ErrInvalidOptions = errors.New("shapehttp: invalid options")
)

// Error is an answer to a request that the handler refuses: its HTTP
// status and the message the client sees. An [Options.Authorize] hook may
// return one to pick the status (401 for a missing login, 403 for a shape
// the caller may not see); any other error from the hook answers 403 with
// a generic message and goes to the logger, so internal details never
// reach the client.
type Error struct {
	// Status is the HTTP status code (4xx or 5xx).
	Status int
	// Message is the human-readable reason, sent as "message".
	Message string
	// Fields, when set, names the request parameters at fault and why,
	// sent as "errors" ({"where": ["..."]}), as Electric does for 400s.
	Fields map[string][]string
	// RetryAfter, when positive, is sent as the Retry-After header in
	// seconds (the client waits at least that long before it retries 429
	// and 5xx answers).
	RetryAfter int
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// invalid returns a 400 naming the parameter at fault, Electric's
// "Invalid request" form.
func invalid(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid request", Fields: map[string][]string{field: {msg}}}
}

// writeError sends e as JSON. Error answers are never stored by caches
// (Cache-Control and Surrogate-Control no-store), as Electric sends them.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Surrogate-Control", "no-store")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors,omitempty"`
	}{e.Message, e.Fields}
	w.WriteHeader(e.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // a JSON body, never HTML: keep "<=" readable
	_ = enc.Encode(body)
}
