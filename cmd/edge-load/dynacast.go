package main

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	protoLogger "github.com/livekit/protocol/logger"
)

// sdkLayerEnableMsg is what server-sdk-go v2.19.0 logs (Infow, keys "quality" and "enabled")
// when a SubscribedQualityUpdate from the server pauses or resumes one of its simulcast layers.
// The SDK offers no callback for it, so the publisher's logger watches for this line.
const sdkLayerEnableMsg = "updating layer enable"

// dynacastLog records the layer pauses the node asks of the publisher (dynacast).
//
// Concurrency: safe for concurrent use; the SDK logs from its signal goroutine.
type dynacastLog struct {
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	paused  [3]bool
	since   [3]time.Time     // when the current pause began
	pausedD [3]time.Duration // closed pauses, total
	pauses  [3]int
}

// dynacastSnap is the pause time per layer up to a moment, for window deltas.
type dynacastSnap struct {
	paused [3]time.Duration
	pauses [3]int
	now    [3]bool // paused at the moment of the snapshot
}

func newDynacastLog(now func() time.Time) *dynacastLog { return &dynacastLog{now: now} }

// record applies one layer enable/disable event.
func (d *dynacastLog) record(q livekit.VideoQuality, enabled bool) {
	i := int(q)
	if i < 0 || i >= len(d.paused) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !enabled && !d.paused[i]:
		d.paused[i], d.since[i] = true, d.now()
		d.pauses[i]++
	case enabled && d.paused[i]:
		d.paused[i] = false
		d.pausedD[i] += d.now().Sub(d.since[i])
	}
}

func (d *dynacastLog) snapshot() dynacastSnap {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := dynacastSnap{pauses: d.pauses, now: d.paused}
	t := d.now()
	for i := range s.paused {
		s.paused[i] = d.pausedD[i]
		if d.paused[i] {
			s.paused[i] += t.Sub(d.since[i])
		}
	}
	return s
}

// observe inspects one SDK log line.
func (d *dynacastLog) observe(msg string, kv []any) {
	if msg != sdkLayerEnableMsg {
		return
	}
	var (
		q       livekit.VideoQuality
		enabled bool
		haveQ   bool
		haveE   bool
	)
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "quality":
			q, haveQ = kv[i+1].(livekit.VideoQuality)
		case "enabled":
			enabled, haveE = kv[i+1].(bool)
		}
	}
	if haveQ && haveE {
		d.record(q, enabled)
	}
}

// watchingLogger passes everything to next and shows Infow lines to a dynacastLog. Derived
// loggers (WithValues, WithName, ...) keep watching.
type watchingLogger struct {
	next protoLogger.Logger
	dc   *dynacastLog
}

func (l watchingLogger) wrap(n protoLogger.Logger) protoLogger.Logger {
	return watchingLogger{next: n, dc: l.dc}
}

func (l watchingLogger) Debugw(msg string, kv ...any) { l.next.Debugw(msg, kv...) }

func (l watchingLogger) Infow(msg string, kv ...any) {
	l.dc.observe(msg, kv)
	l.next.Infow(msg, kv...)
}

func (l watchingLogger) Warnw(msg string, err error, kv ...any)  { l.next.Warnw(msg, err, kv...) }
func (l watchingLogger) Errorw(msg string, err error, kv ...any) { l.next.Errorw(msg, err, kv...) }

func (l watchingLogger) WithValues(kv ...any) protoLogger.Logger {
	return l.wrap(l.next.WithValues(kv...))
}

func (l watchingLogger) WithUnlikelyValues(kv ...any) protoLogger.UnlikelyLogger {
	return l.next.WithUnlikelyValues(kv...)
}

func (l watchingLogger) WithName(name string) protoLogger.Logger {
	return l.wrap(l.next.WithName(name))
}

func (l watchingLogger) WithComponent(c string) protoLogger.Logger {
	return l.wrap(l.next.WithComponent(c))
}

func (l watchingLogger) WithCallDepth(depth int) protoLogger.Logger {
	return l.wrap(l.next.WithCallDepth(depth))
}

func (l watchingLogger) WithItemSampler() protoLogger.Logger { return l.wrap(l.next.WithItemSampler()) }
func (l watchingLogger) WithoutSampler() protoLogger.Logger  { return l.wrap(l.next.WithoutSampler()) }

func (l watchingLogger) WithDeferredValues() (protoLogger.Logger, protoLogger.DeferredFieldResolver) {
	n, r := l.next.WithDeferredValues()
	return l.wrap(n), r
}
