package gossip

import (
	"bytes"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// logBridge turns memberlist's log lines ("[LEVEL] memberlist: ...") into zerolog events.
// memberlist logs some lines per packet (e.g. a packet that fails to decrypt), so lines are rate
// limited to burst per second; the excess is counted, never logged. Once the cluster is
// closing, memberlist's complaints about closed sockets are expected and logged at debug level.
type logBridge struct {
	closing atomic.Bool

	log     zerolog.Logger
	dropped func()
	burst   int
	now     func() time.Time

	mu     sync.Mutex // guards window and count
	window time.Time
	count  int
}

func newLogBridge(l zerolog.Logger, burst int, dropped func()) *logBridge {
	return &logBridge{log: l.With().Str("component", "memberlist").Logger(), dropped: dropped, burst: burst, now: time.Now}
}

func (b *logBridge) logger() *log.Logger { return log.New(b, "", 0) }

// Write implements io.Writer for log.Logger; each call is one line.
func (b *logBridge) Write(p []byte) (int, error) {
	n := len(p)
	line := bytes.TrimSpace(p)
	level := zerolog.InfoLevel
	for _, l := range []struct {
		tag   string
		level zerolog.Level
	}{{"[DEBUG]", zerolog.DebugLevel}, {"[INFO]", zerolog.InfoLevel}, {"[WARN]", zerolog.WarnLevel}, {"[ERR]", zerolog.ErrorLevel}} {
		if bytes.HasPrefix(line, []byte(l.tag)) {
			level = l.level
			line = bytes.TrimSpace(line[len(l.tag):])
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	if b.closing.Load() {
		level = zerolog.DebugLevel
	}
	if b.log.GetLevel() > level {
		return n, nil
	}
	now := b.now()
	b.mu.Lock()
	if now.Sub(b.window) >= time.Second {
		b.window, b.count = now, 0
	}
	b.count++
	allowed := b.count <= b.burst
	b.mu.Unlock()
	if !allowed {
		b.dropped()
		return n, nil
	}
	b.log.WithLevel(level).Msg(string(line))
	return n, nil
}
