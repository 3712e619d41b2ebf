package node

import (
	"fmt"

	"github.com/pion/logging"
	"github.com/rs/zerolog"
)

// pionLogs routes pion's logs into the node's zerolog logger (with a "pion" scope field), so
// they carry the node's fields instead of going to stderr. pion reports recoverable protocol
// events (a late candidate, a short read) as errors; they arrive here as warnings, and pion's
// own warnings and info as debug lines.
type pionLogs struct{ log zerolog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With().Str("pion", scope).Logger()}
}

type pionLogger struct{ log zerolog.Logger }

func (l pionLogger) Trace(string)          {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(msg string)      {}
func (l pionLogger) Debugf(string, ...any) {}
func (l pionLogger) Info(msg string)       { l.log.Debug().Msg(msg) }
func (l pionLogger) Infof(format string, args ...any) {
	l.log.Debug().Msg(fmt.Sprintf(format, args...))
}
func (l pionLogger) Warn(msg string) { l.log.Debug().Msg(msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	l.log.Debug().Msg(fmt.Sprintf(format, args...))
}
func (l pionLogger) Error(msg string) { l.log.Warn().Msg(msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.log.Warn().Msg(fmt.Sprintf(format, args...))
}
