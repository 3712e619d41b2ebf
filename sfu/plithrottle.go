package sfu

import "time"

// DefaultPLIThrottle is the minimum interval between two keyframe requests
// sent upstream for the same layer.
const DefaultPLIThrottle = 500 * time.Millisecond

// KeyframeThrottle limits keyframe requests per layer: subscribers that join
// or lose packets together would otherwise flood the publisher with PLIs for
// the same keyframe. It is a pure state machine fed the current time; not safe
// for concurrent use (its owner's lock guards it).
type KeyframeThrottle struct {
	interval int64 // ns
	last     [NumLayers]int64
	sent     [NumLayers]bool
}

// NewKeyframeThrottle returns a throttle allowing one request per layer per
// interval; interval ≤ 0 selects DefaultPLIThrottle.
func NewKeyframeThrottle(interval time.Duration) KeyframeThrottle {
	if interval <= 0 {
		interval = DefaultPLIThrottle
	}
	return KeyframeThrottle{interval: int64(interval)}
}

// Allow reports whether a keyframe request for layer may be sent at now (unix
// ns) and, if so, records it.
func (t *KeyframeThrottle) Allow(layer int32, now int64) bool {
	if layer < 0 || layer >= NumLayers {
		return false
	}
	if t.sent[layer] && now-t.last[layer] < t.interval {
		return false
	}
	t.sent[layer] = true
	t.last[layer] = now
	return true
}
