package sfu

import (
	"math"
	"sync/atomic"
	"time"
)

const (
	// audioActiveDBov: packets at or louder than this level (RFC 6464 -dBov,
	// 0 = loudest) count as speech.
	audioActiveDBov = 35
	// audioWindow is the observation window over which levels are aggregated.
	audioWindow = int64(500 * time.Millisecond)
	// audioActivePercent of a window's packets must be speech for it to count
	// as active.
	audioActivePercent = 40
	// audioSilenceTimeout: with no audio-level observation for this long the
	// track is reported silent (muted, or the publisher stopped sending).
	audioSilenceTimeout = int64(time.Second)
)

// audioLevel turns the per-packet RFC 6464 audio levels of one track into a
// smoothed loudness in 0..1 (1 = loudest) and an active-speaker flag.
//
// observe is called by a single goroutine (the audio layer's read loop); level
// may be called concurrently from any goroutine: results are published through
// atomics.
type audioLevel struct {
	// Window state, owned by the observing goroutine.
	windowStart int64
	count       int
	active      int
	activeSum   float64
	smoothed    float64

	// Published results.
	levelBits  atomic.Uint64 // math.Float64bits of the smoothed level
	isActive   atomic.Bool
	lastUpdate atomic.Int64 // arrival of the newest observation, unix ns
}

// dBovToLinear converts an RFC 6464 level (0..127 -dBov) to a linear
// amplitude in 0..1.
func dBovToLinear(level uint8) float64 {
	return math.Pow(10, -float64(level)/20)
}

// observe records the level of one packet that arrived at arrival (unix ns).
func (a *audioLevel) observe(level uint8, arrival int64) {
	if a.count == 0 {
		a.windowStart = arrival
	}
	a.count++
	if level <= audioActiveDBov {
		a.active++
		a.activeSum += dBovToLinear(level)
	}
	a.lastUpdate.Store(arrival)
	if arrival-a.windowStart < audioWindow {
		return
	}
	var linear float64
	active := a.active*100 >= a.count*audioActivePercent
	if active {
		linear = a.activeSum / float64(a.active)
	}
	a.smoothed += (linear - a.smoothed) / 2
	a.levelBits.Store(math.Float64bits(a.smoothed))
	a.isActive.Store(active)
	a.count, a.active, a.activeSum = 0, 0, 0
}

// level returns the smoothed level and whether the track is an active speaker
// at now (unix ns).
func (a *audioLevel) level(now int64) (float64, bool) {
	last := a.lastUpdate.Load()
	if last == 0 || now-last > audioSilenceTimeout {
		return 0, false
	}
	return math.Float64frombits(a.levelBits.Load()), a.isActive.Load()
}
