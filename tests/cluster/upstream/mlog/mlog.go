// Package mlog stands in for monis.app/mlog (see go.mod): structured logs over log/slog.
package mlog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
)

// LogLevel is a verbosity; the empty level is warning.
type LogLevel string

// The levels, least verbose first.
const (
	LevelWarning LogLevel = ""
	LevelInfo    LogLevel = "info"
	LevelDebug   LogLevel = "debug"
	LevelTrace   LogLevel = "trace"
	LevelAll     LogLevel = "all"
)

// LogFormat is the output shape.
type LogFormat string

// The formats.
const (
	FormatJSON LogFormat = "json"
	FormatCLI  LogFormat = "cli"
)

// LogSpec is what ValidateAndSetLogLevelAndFormatGlobally sets.
type LogSpec struct {
	Level  LogLevel  `json:"level,omitempty"`
	Format LogFormat `json:"format,omitempty"`
}

var order = map[LogLevel]int{LevelWarning: 0, LevelInfo: 1, LevelDebug: 2, LevelTrace: 3, LevelAll: 4}

var current atomic.Int32

var handler atomic.Pointer[slog.Logger]

func init() {
	handler.Store(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 8})))
}

// ValidateAndSetLogLevelAndFormatGlobally checks and applies spec.
func ValidateAndSetLogLevelAndFormatGlobally(_ context.Context, spec LogSpec) error {
	rank, ok := order[spec.Level]
	if !ok {
		return fmt.Errorf("unknown log level %q", spec.Level)
	}
	switch spec.Format {
	case "", FormatJSON:
		handler.Store(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 8})))
	case FormatCLI:
		handler.Store(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 8})))
	default:
		return fmt.Errorf("unknown log format %q", spec.Format)
	}
	current.Store(int32(rank))
	return nil
}

// Enabled tells whether messages of level are logged.
func Enabled(level LogLevel) bool {
	rank, ok := order[level]
	return ok && int32(rank) <= current.Load()
}

// Setup returns the function that flushes the logs (nothing to flush here).
func Setup() func() { return func() {} }

// Logger logs with a name and values.
type Logger interface {
	Error(msg string, err error, keysAndValues ...any)
	Warning(msg string, keysAndValues ...any)
	Info(msg string, keysAndValues ...any)
	Debug(msg string, keysAndValues ...any)
	Trace(msg string, keysAndValues ...any)
	All(msg string, keysAndValues ...any)
	WithValues(keysAndValues ...any) Logger
	WithName(name string) Logger
}

type logger struct {
	name   string
	values []any
}

// New is the root logger.
func New() Logger { return logger{} }

func (l logger) log(level LogLevel, msg string, err error, kv []any) {
	if !Enabled(level) {
		return
	}
	args := append([]any{}, l.values...)
	if l.name != "" {
		args = append(args, "logger", l.name)
	}
	if err != nil {
		args = append(args, "err", err.Error())
	}
	args = append(args, kv...)
	slogLevel := slog.LevelInfo
	switch level {
	case LevelWarning:
		slogLevel = slog.LevelWarn
	case LevelDebug, LevelTrace, LevelAll:
		slogLevel = slog.LevelDebug
	}
	handler.Load().Log(context.Background(), slogLevel, msg, args...)
}

func (l logger) Error(msg string, err error, kv ...any) {
	l.log(LevelWarning, msg, err, kv)
}
func (l logger) Warning(msg string, kv ...any) { l.log(LevelWarning, msg, nil, kv) }
func (l logger) Info(msg string, kv ...any)    { l.log(LevelInfo, msg, nil, kv) }
func (l logger) Debug(msg string, kv ...any)   { l.log(LevelDebug, msg, nil, kv) }
func (l logger) Trace(msg string, kv ...any)   { l.log(LevelTrace, msg, nil, kv) }
func (l logger) All(msg string, kv ...any)     { l.log(LevelAll, msg, nil, kv) }
func (l logger) WithValues(kv ...any) Logger {
	return logger{name: l.name, values: append(append([]any{}, l.values...), kv...)}
}
func (l logger) WithName(name string) Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return logger{name: name, values: l.values}
}

// The package-level logger.

func Error(msg string, err error, kv ...any) { New().Error(msg, err, kv...) }
func Warning(msg string, kv ...any)          { New().Warning(msg, kv...) }
func Info(msg string, kv ...any)             { New().Info(msg, kv...) }
func Debug(msg string, kv ...any)            { New().Debug(msg, kv...) }
func WithValues(kv ...any) Logger            { return New().WithValues(kv...) }
func WithName(name string) Logger            { return New().WithName(name) }

// Fatal logs err and exits 1.
func Fatal(err error, kv ...any) {
	New().Error("fatal", err, kv...)
	os.Exit(1)
}

// Logr is a logr.Logger over the same output, for controller-runtime.
func Logr() logr.Logger { return logr.FromSlogHandler(handler.Load().Handler()) }
