package shapehttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shape"
)

// New returns a Handler serving the shapes of m (which must be served, as
// a suture.Service, for as long as the handler is used). It fails, with
// ErrInvalidOptions, for a nil m or invalid options. Close the handler
// when done.
func New(m *shape.Manager, opts Options) (*Handler, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil shape.Manager", ErrInvalidOptions)
	}
	return newHandler(managerOpener(m), opts)
}

// managerOpener opens feeds as subscriptions of m.
func managerOpener(m *shape.Manager) opener {
	return func(ctx context.Context, def definition) (feed, error) {
		sub, err := m.SubscribeBatch(ctx, def)
		if err != nil {
			return nil, subscribeError(err)
		}
		return &subFeed{sub: sub, cols: shapeColumns(sub.Shape())}, nil
	}
}

// subscribeError maps the shape package's errors to answers.
func subscribeError(err error) error {
	msg := strings.TrimPrefix(err.Error(), shape.ErrDefinition.Error()+": ")
	switch {
	case errors.Is(err, shape.ErrDefinition):
		field := "where"
		if strings.Contains(msg, "column") && !strings.Contains(msg, "at ") {
			field = "columns"
		}
		if strings.Contains(msg, "table") && !strings.Contains(msg, "column") {
			field = "table"
		}
		return invalid(field, msg)
	case errors.Is(err, shape.ErrNotPublished):
		return &Error{Status: http.StatusBadRequest, Message: "table is not published for live changes: " + err.Error()}
	case errors.Is(err, shape.ErrTooManyShapes):
		return &Error{Status: http.StatusTooManyRequests, Message: "too many live shapes on this server; try again later", RetryAfter: 5}
	case errors.Is(err, shape.ErrSnapshot):
		return &Error{Status: http.StatusServiceUnavailable, Message: "the shape's snapshot failed; try again", RetryAfter: 1}
	}
	return err
}

// subFeed is a feed over a shape.Subscription.
type subFeed struct {
	sub   *shape.Subscription
	cols  []column
	timer *time.Timer // for next's waits, made with the first
}

func (f *subFeed) columns() []column { return f.cols }

func (f *subFeed) close() {
	if f.timer != nil {
		f.timer.Stop()
	}
	f.sub.Close()
}

func (f *subFeed) next(ctx context.Context, wait time.Duration) (change, bool, error) {
	var (
		m  shape.Message
		ok bool
	)
	select {
	case m, ok = <-f.sub.C():
	default:
		switch {
		case wait == 0:
			return change{}, false, nil
		case wait < 0:
			select {
			case m, ok = <-f.sub.C():
			case <-ctx.Done():
				return change{}, false, ctx.Err()
			}
		default:
			if f.timer == nil {
				f.timer = time.NewTimer(wait)
			} else {
				f.timer.Reset(wait)
			}
			select {
			case m, ok = <-f.sub.C():
				f.timer.Stop()
			case <-f.timer.C:
				return change{}, false, nil
			case <-ctx.Done():
				f.timer.Stop()
				return change{}, false, ctx.Err()
			}
		}
	}
	if !ok {
		return change{}, false, shape.ErrClosed
	}
	c := change{key: m.Key, row: m.Row, old: m.Old, rows: m.Rows, lsn: m.LSN, seq: m.Seq}
	switch m.Kind {
	case shape.Insert:
		c.kind = kindInsert
	case shape.Update:
		c.kind = kindUpdate
	case shape.Delete:
		c.kind = kindDelete
	case shape.UpToDate:
		c.kind = kindUpToDate
	case shape.Reset:
		c.kind = kindReset
	case shape.Commit:
		c.kind = kindCommit
	case shape.Snapshot:
		c.kind = kindSnapshot
	default:
		return change{}, false, errors.New("shapehttp: unknown message kind " + m.Kind.String())
	}
	return c, true, nil
}

// shapeColumns describes a shape's columns for the schema header.
func shapeColumns(sh *shape.Shape) []column {
	cols := make([]column, len(sh.Columns))
	for i, c := range sh.Columns {
		cols[i] = column{name: c.Name, typeName: typeName(c.DecodeOID, c.OID, c.Type), pkIndex: -1}
		for k, name := range sh.Key {
			if name == c.Name {
				cols[i].pkIndex = k
			}
		}
	}
	return cols
}
