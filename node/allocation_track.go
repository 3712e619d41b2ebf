package node

import (
	"math"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/allocator"
)

// allocSink is what an allocation needs of a down-track (*sfu.DownTrack). All methods
// are safe for concurrent use and do not block.
type allocSink interface {
	AllocationState() sfu.AllocationState
	SetAllocation(layer int32) bool
	SetRetransmitBudget(bps uint64)
	WritePadding(maxBytes int) int
}

const (
	// rateTimeConstant smooths measured bitrates (keyframes come in bursts).
	rateTimeConstant = 2 * time.Second
)

// defaultLayerBitrate stands in for a layer never measured nor declared by the publisher.
func defaultLayerBitrate(layer int32) uint64 {
	switch layer {
	case sfu.LayerLow:
		return 150_000
	case sfu.LayerMid:
		return 500_000
	default:
		return 1_500_000
	}
}

// allocTrack is one down-track as its allocation tracks it. Owned by the scheduler's goroutine.
type allocTrack struct {
	sink allocSink
	meta trackMeta

	measuredAt time.Time
	lastBytes  [sfu.NumLayers]uint64
	rates      [sfu.NumLayers]float64 // smoothed bitrate of each layer while it flows (as on the wire)
	lastPad    uint64
	lastRtx    uint64
	state      sfu.AllocationState

	layer      int32 // last decision applied
	decided    bool
	rtxBudget  uint64 // retransmission budget set, bits/s (0: none)
	paused     bool   // the client was told PAUSED
	padSkipped bool   // WritePadding returned nothing last time
}

// ewma blends sample into avg over a step of dt.
func ewma(avg, sample float64, dt time.Duration) float64 {
	if avg == 0 {
		return sample
	}
	alpha := 1 - math.Exp(-float64(dt)/float64(rateTimeConstant))
	return avg + alpha*(sample-avg)
}

// measure samples the down-track at now and updates the smoothed rates. A layer's rate is only
// updated while the layer flows: when the publisher stops sending it (nobody needs it), its last
// rate is remembered for the next decision to go back up.
func (t *allocTrack) measure(now time.Time) {
	st := t.sink.AllocationState()
	t.state = st
	if t.measuredAt.IsZero() {
		t.measuredAt, t.lastBytes, t.lastPad, t.lastRtx = now, st.LayerBytes, st.PaddingBytes, st.RetransmitsSkipped
		return
	}
	dt := now.Sub(t.measuredAt)
	if dt <= 0 {
		return
	}
	for l := range st.LayerBytes {
		delta := st.LayerBytes[l] - t.lastBytes[l]
		if delta == 0 {
			continue
		}
		if t.rates[l] == 0 && t.video() {
			// A video layer starts (or resumes) with a keyframe: its first sample is far
			// above its rate. Start from what was expected of it instead.
			t.rates[l] = float64(t.expected(int32(l)))
		}
		t.rates[l] = ewma(t.rates[l], float64(delta)*8/dt.Seconds(), dt)
	}
	t.measuredAt, t.lastBytes = now, st.LayerBytes
}

// fixedRate is what an audio track sends (everything it is offered, unless paused).
func (t *allocTrack) fixedRate() float64 {
	if t.state.UserPaused {
		return 0
	}
	return t.rates[sfu.LayerLow]
}

// paddingSent returns the padding bytes sent since the last call.
func (t *allocTrack) paddingSent() uint64 {
	p := t.state.PaddingBytes - t.lastPad
	t.lastPad = t.state.PaddingBytes
	return p
}

// retransmitsSkipped returns the retransmissions refused by the budget since the last call.
func (t *allocTrack) retransmitsSkipped() uint64 {
	n := t.state.RetransmitsSkipped - t.lastRtx
	t.lastRtx = t.state.RetransmitsSkipped
	return n
}

// Retransmission budget of a down-track: a share of what it is allocated, at least a floor.
const (
	rtxShare = 0.25
	rtxFloor = 64_000
)

// retransmitBudget is the budget for a decision: none while unconstrained (no estimate) or
// paused (nothing is retransmitted then anyway).
func retransmitBudget(layer int32, bitrate uint64, unconstrained bool) uint64 {
	if unconstrained || layer < 0 {
		return 0
	}
	return max(uint64(float64(bitrate)*rtxShare), rtxFloor)
}

// video reports whether the track is video.
func (t *allocTrack) video() bool { return t.state.Kind == webrtc.RTPCodecTypeVideo }

// expected is a layer's rate before it was ever measured: what the publisher declared, else a
// default (a single-layer track is the whole track, not a thumbnail).
func (t *allocTrack) expected(l int32) uint64 {
	if d := t.meta.declared[l]; d > 0 {
		return d
	}
	if l == sfu.LayerLow && (t.state.Layers|t.meta.layers) == sfu.LayerBit(sfu.LayerLow) {
		return defaultLayerBitrate(sfu.LayerMid)
	}
	return defaultLayerBitrate(l)
}

// input describes the track to the allocator: measured rates where known (remembered while a
// layer does not flow), else expected ones; for the layers the source has or the publisher
// announced.
func (t *allocTrack) input() allocator.Track {
	st := &t.state
	in := allocator.Track{ID: t.meta.sid, Source: t.meta.source, MaxLayer: st.SubscriberMaxLayer}
	layers := st.Layers | t.meta.layers
	for l := int32(0); l < sfu.NumLayers; l++ {
		if !layers.Has(l) {
			continue
		}
		if t.rates[l] > 0 {
			in.Bitrates[l] = uint64(t.rates[l])
		} else {
			in.Bitrates[l] = t.expected(l)
		}
	}
	top := min(max(st.SubscriberMaxLayer, 0), sfu.NumLayers-1)
	in.Pixels = t.meta.pixels[top]
	if in.Pixels == 0 {
		in.Pixels = t.meta.pixelsAny
	}
	return in
}
