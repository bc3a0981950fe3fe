package broker

import (
	"context"
	"log/slog"
)

// quiet returns a logger that passes the broker library's warnings and
// errors through and lowers its informational chatter (every connect and
// disconnect) to debug level.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(demote{h: l.Handler().WithAttrs([]slog.Attr{slog.String("component", "broker")})})
}

type demote struct{ h slog.Handler }

func (d demote) Enabled(ctx context.Context, lv slog.Level) bool {
	if lv < slog.LevelWarn {
		lv = slog.LevelDebug
	}
	return d.h.Enabled(ctx, lv)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		r.Level = slog.LevelDebug
	}
	return d.h.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(as)} }
func (d demote) WithGroup(n string) slog.Handler       { return demote{d.h.WithGroup(n)} }
