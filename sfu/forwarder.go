package sfu

import (
	"time"

	"github.com/edgemesh/edge/sfu/buffer"
)

const (
	// layerTimeout is how long a layer may stay silent before the forwarder
	// considers it unavailable (publisher paused it, or it stopped).
	layerTimeout = int64(time.Second)
	// keyframeRetry is how often the forwarder repeats a keyframe request while
	// it waits for a keyframe on its target layer.
	keyframeRetry = int64(time.Second)
)

// dropReason says why the forwarder did not forward a packet.
type dropReason uint8

const (
	forwardPacket    dropReason = iota // not dropped
	dropBadLayer                       // layer out of range for this track
	dropPaused                         // down-track paused
	dropNotWanted                      // packet of a layer that is not forwarded
	dropWaitKeyframe                   // target layer chosen, no keyframe yet
	dropPadding                        // padding-only packet
	dropTooOld                         // reordered packet older than the current mapping
)

// decision is the forwarder's verdict on one packet.
type decision struct {
	drop dropReason
	// Outgoing sequence number and timestamp (when forwarded).
	sn uint16
	ts uint32
	// hasVP8 says vp8 holds munged descriptor fields (when forwarded).
	hasVP8 bool
	vp8    vp8Munged
	// keyframe is the layer to request a keyframe for, or LayerNone.
	keyframe int32
}

// forwarderParams configures a forwarder.
type forwarderParams struct {
	video     bool   // simulcast layers and keyframe-aligned switching
	vp8       bool   // munge the VP8 payload descriptor
	clockRate uint32 // RTP clock rate of the codec
	maxLayer  int32  // initial cap, LayerLow..LayerHigh
}

// forwarder is the pure decision core of a DownTrack: for every source packet
// it decides whether to forward it and how to rewrite it. It chooses the
// target layer (the highest available layer up to maxLayer, else the lowest
// available above it), switches layers only at keyframes, and keeps sequence
// numbers gap-free and timestamps/VP8 ids continuous via its mungers. When
// nothing is forwarded yet (start, resume) it starts at the first keyframe of
// any layer up to the target and moves up at the target's next keyframe.
//
// Time comes only from the packets' arrival times and explicit arguments; the
// forwarder does no I/O. It is not safe for concurrent use: the DownTrack's
// mutex guards it.
type forwarder struct {
	video, vp8 bool
	maxLayer   int32
	target     int32 // layer we want to forward now
	current    int32 // layer being forwarded, LayerNone until a keyframe
	paused     bool
	resync     bool // next forwarded packet starts a new munger mapping

	seen     [NumLayers]bool
	lastSeen [NumLayers]int64 // newest arrival per layer, unix ns

	lastKeyframeReq int64

	rtp rtpMunger
	vpx vp8Munger
}

func newForwarder(p forwarderParams) *forwarder {
	return &forwarder{
		video:    p.video,
		vp8:      p.vp8,
		maxLayer: clampLayer(p.maxLayer),
		target:   LayerNone,
		current:  LayerNone,
		rtp:      newRTPMunger(p.clockRate),
	}
}

// clampLayer maps a requested cap to LayerLow..LayerHigh; negative values
// (MaxLayerAuto) select LayerHigh.
func clampLayer(l int32) int32 {
	if l < 0 || l > LayerHigh {
		return LayerHigh
	}
	return l
}

// selectLayer picks the layer to forward: the highest available layer not
// above maxLayer, else the lowest available layer above it. With nothing
// available it aims for maxLayer.
func selectLayer(maxLayer int32, available [NumLayers]bool) int32 {
	for l := maxLayer; l >= 0; l-- {
		if available[l] {
			return l
		}
	}
	for l := maxLayer + 1; l < NumLayers; l++ {
		if available[l] {
			return l
		}
	}
	return maxLayer
}

// selectTarget computes the target layer from the layers seen recently.
func (f *forwarder) selectTarget(now int64) int32 {
	if !f.video {
		return LayerLow
	}
	var avail [NumLayers]bool
	for l := range avail {
		avail[l] = f.seen[l] && now-f.lastSeen[l] < layerTimeout
	}
	return selectLayer(f.maxLayer, avail)
}

// setMaxLayer changes the cap at now. It returns the layer to request a
// keyframe for if the target changed, else LayerNone.
func (f *forwarder) setMaxLayer(l int32, now int64) int32 {
	f.maxLayer = clampLayer(l)
	return f.retarget(now)
}

// retarget recomputes the target; it returns the layer to request a keyframe
// for when the target changed away from the current layer.
func (f *forwarder) retarget(now int64) int32 {
	if f.paused {
		return LayerNone
	}
	t := f.selectTarget(now)
	if t == f.target {
		return LayerNone
	}
	f.target = t
	if t == f.current || !f.video {
		return LayerNone
	}
	f.lastKeyframeReq = now
	return t
}

// setPaused stops or resumes forwarding. Resuming video waits for a keyframe;
// the caller asks for one with keyframeLayer.
func (f *forwarder) setPaused(paused bool) {
	if f.paused == paused {
		return
	}
	f.paused = paused
	f.current = LayerNone
	f.target = LayerNone
}

// keyframeLayer is the layer a subscriber's PLI should be forwarded to: the
// current layer, else the one being waited for.
func (f *forwarder) keyframeLayer() int32 {
	if f.current != LayerNone {
		return f.current
	}
	return f.target
}

// process decides the fate of packet p of layer. Packets of every layer of the
// source pass through here, so the forwarder also learns which layers arrive.
func (f *forwarder) process(p *buffer.ExtPacket, layer int32) decision {
	d := decision{keyframe: LayerNone}
	if layer < 0 || layer >= NumLayers || (!f.video && layer != LayerLow) {
		d.drop = dropBadLayer
		return d
	}
	now := p.Arrival
	if !f.seen[layer] || now > f.lastSeen[layer] {
		f.seen[layer] = true
		f.lastSeen[layer] = now
	}
	if f.paused {
		d.drop = dropPaused
		return d
	}
	d.keyframe = f.retarget(now)
	if f.video && f.current != f.target && d.keyframe == LayerNone && now-f.lastKeyframeReq >= keyframeRetry {
		f.lastKeyframeReq = now
		d.keyframe = f.target
	}
	if layer != f.current {
		// Forward the target layer; before anything is forwarded, start with
		// the first keyframe of any layer up to the target (fast start), and
		// move up from there at the target's keyframe.
		if layer != f.target && (f.current != LayerNone || layer > f.target) {
			d.drop = dropNotWanted
			return d
		}
		if f.video && !p.KeyFrame {
			d.drop = dropWaitKeyframe
			return d
		}
		f.current = layer
		f.resync = true
		d.keyframe = LayerNone
	}
	return f.munge(p, d)
}

// munge rewrites a packet of the current layer.
func (f *forwarder) munge(p *buffer.ExtPacket, d decision) decision {
	padding := len(p.Payload) == 0
	vp8 := f.vp8 && !padding && p.VP8.HeaderSize > 0
	if f.resync {
		if padding {
			d.drop = dropPadding
			return d
		}
		f.resync = false
		f.rtp.resync(p.ExtSeq, p.Header.Timestamp, p.Arrival)
		if vp8 {
			f.vpx.resync(&p.VP8)
		}
	}
	sn, ts, res := f.rtp.process(p.ExtSeq, p.Header.Timestamp, p.Arrival, padding)
	switch res {
	case mungeDropPadding:
		d.drop = dropPadding
		return d
	case mungeDropTooOld:
		d.drop = dropTooOld
		return d
	}
	d.sn, d.ts = sn, ts
	if vp8 {
		d.hasVP8 = true
		d.vp8 = f.vpx.process(&p.VP8)
	}
	return d
}

// tsOffset returns the layer being forwarded and the offset between its source
// timestamps and the outgoing ones (outgoing = source - offset), for sender
// report translation. ok is false when nothing is forwarded.
func (f *forwarder) tsOffset() (layer int32, offset uint32, ok bool) {
	if f.current == LayerNone || !f.rtp.started || f.resync {
		return LayerNone, 0, false
	}
	return f.current, f.rtp.tsOffset, true
}
