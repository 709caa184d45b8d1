package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"
	"github.com/thejerf/suture/v4"
)

// newLogger returns the program's logger: slog's JSON handler for format
// "json", otherwise tint's text handler, coloured only when w is a terminal
// and NO_COLOR is unset (tint never detects a terminal by itself).
func newLogger(w io.Writer, format string, level slog.Level, getenv func(string) string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(tint.NewTextHandler(w, &tint.Options{
		Level:      level,
		TimeFormat: "15:04:05.000",
		NoColor:    !isTerminal(w) || getenv("NO_COLOR") != "",
	}))
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// minLevel passes on records at or above level only. It quiets a
// component (the embedded server's lifecycle lines) below the program's own
// level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

// supervisorHook logs suture's events. It runs on the supervisor's
// goroutine, so it only formats and logs; it never blocks.
func supervisorHook(logger *slog.Logger) suture.EventHook {
	return func(e suture.Event) {
		level := slog.LevelWarn
		if e.Type() == suture.EventTypeServicePanic || e.Type() == suture.EventTypeStopTimeout {
			level = slog.LevelError
		}
		logger.Log(context.Background(), level, "supervisor: "+e.String())
	}
}
