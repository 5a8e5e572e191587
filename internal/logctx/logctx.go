// Package logctx carries a request's id through context.Context so that
// every log line written while serving the request names it, whichever
// package writes it.
package logctx

import (
	"context"

	"go.uber.org/zap"
)

type key struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// L returns base with the request id of ctx attached, if there is one.
func L(ctx context.Context, base *zap.Logger) *zap.Logger {
	if id := RequestID(ctx); id != "" {
		return base.With(zap.String("request_id", id))
	}
	return base
}
