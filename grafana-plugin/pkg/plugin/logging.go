package plugin

import (
	"context"
	"log/slog"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// NewSDKHandler returns a slog.Handler that writes through the plugin SDK's
// logger, which Grafana collects from the plugin process.
func NewSDKHandler(l log.Logger) slog.Handler { return &sdkHandler{l: l} }

type sdkHandler struct {
	l      log.Logger
	attrs  []any
	prefix string
}

func (h *sdkHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	switch h.l.Level() {
	case log.Debug, log.Trace, log.NoLevel:
		return true
	case log.Info:
		return lvl >= slog.LevelInfo
	case log.Warn:
		return lvl >= slog.LevelWarn
	default:
		return lvl >= slog.LevelError
	}
}

func (h *sdkHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, len(h.attrs)+2*r.NumAttrs())
	args = append(args, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, h.prefix+a.Key, a.Value.Resolve().Any())
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(r.Message, args...)
	case r.Level >= slog.LevelWarn:
		h.l.Warn(r.Message, args...)
	case r.Level >= slog.LevelInfo:
		h.l.Info(r.Message, args...)
	default:
		h.l.Debug(r.Message, args...)
	}
	return nil
}

func (h *sdkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &sdkHandler{l: h.l, prefix: h.prefix, attrs: append([]any{}, h.attrs...)}
	for _, a := range as {
		n.attrs = append(n.attrs, h.prefix+a.Key, a.Value.Resolve().Any())
	}
	return n
}

func (h *sdkHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &sdkHandler{l: h.l, attrs: h.attrs, prefix: h.prefix + name + "."}
}
