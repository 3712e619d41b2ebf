package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// What a DownTrack offers a stream allocator: the bitrate of every layer of
// its source (measured as packets pass through WriteRTP), a layer cap of its
// own that combines with the subscriber's (the lower wins), a pause of its
// own that combines with the subscriber's and publisher's (either pauses),
// and padding to probe the subscriber's link.

const (
	// WireOverhead is what a packet adds to its RTP size on the wire: the
	// SRTP authentication tag (up to 16 bytes) and the UDP (8) and IPv4 (20)
	// headers. The stream allocator counts bitrates as on the wire (so does
	// sfu/bwe): small packets cost more than their RTP bytes tell.
	WireOverhead = 44
	// meterOverhead is added to each offered packet's payload when metering a
	// layer: the outgoing RTP header with the transport-wide sequence number
	// extension (12 + 8 bytes) and WireOverhead.
	meterOverhead = 20 + WireOverhead
	// PaddingPacketSize is the padding carried by one padding-only packet,
	// the most an RTP padding length byte can express.
	PaddingPacketSize = 255
	// PaddingPacketWire is what one padding-only packet costs as on the
	// wire: the unit WritePadding budgets in.
	PaddingPacketWire = PaddingPacketSize + meterOverhead
	// maxPaddingBurst bounds the packets one WritePadding call sends.
	maxPaddingBurst = 64
)

// allocState is the allocator-facing state of a DownTrack.
type allocState struct {
	// layerBytes counts the bytes of every packet the source offered, per
	// layer (payload plus meterOverhead), forwarded or not. Atomic.
	layerBytes     [NumLayers]atomic.Uint64
	paddingPackets atomic.Uint64
	paddingBytes   atomic.Uint64

	rtxSkipped atomic.Uint64 // retransmissions refused by the budget

	// Guarded by DownTrack.mu:
	rtx           rtxBudget
	subscriberMax int32 // the subscriber's cap (SetMaxLayer)
	allocMax      int32 // the allocator's cap, LayerHigh when it sets none
	userPaused    bool  // SetPaused: subscriber disabled or publisher muted
	allocPaused   bool  // SetAllocation(LayerNone)
	frameEnd      bool  // the last forwarded packet ended a frame (padding may follow)
}

// init sets the caps of a new down-track: the subscriber's initial cap, and
// no allocator cap.
func (a *allocState) init(subscriberMax int32) {
	a.subscriberMax, a.allocMax = subscriberMax, LayerHigh
}

// observe meters one offered packet.
func (a *allocState) observe(layer int32, payload int) {
	if layer >= 0 && layer < NumLayers {
		a.layerBytes[layer].Add(uint64(payload + meterOverhead))
	}
}

// effectiveMax is the cap the forwarder applies.
func (a *allocState) effectiveMax() int32 { return min(a.subscriberMax, a.allocMax) }

// effectivePaused is whether the forwarder is paused.
func (a *allocState) effectivePaused() bool { return a.userPaused || a.allocPaused }

// AllocationState is a snapshot of what a stream allocator needs to know
// about a down-track.
type AllocationState struct {
	Kind webrtc.RTPCodecType
	// Layers are the layers the source has.
	Layers LayerMask
	// SubscriberMaxLayer is the subscriber's cap; AllocatedMaxLayer the
	// allocator's (LayerHigh when it sets none).
	SubscriberMaxLayer, AllocatedMaxLayer int32
	// CurrentLayer is the layer forwarded now, LayerNone if none.
	CurrentLayer int32
	// UserPaused: the subscriber disabled the track or the publisher muted
	// it. AllocatorPaused: SetAllocation paused it.
	UserPaused, AllocatorPaused bool
	// Bound: negotiated with the subscriber (packets can be written).
	Bound bool
	// LayerBytes are the bytes the source offered per layer so far, as they
	// would be on the wire (cumulative; the allocator derives bitrates from
	// their growth).
	LayerBytes [NumLayers]uint64
	// PaddingBytes are the bytes of padding-only packets sent so far, as on
	// the wire.
	PaddingBytes uint64
	// RetransmitsSkipped counts NACKed packets not resent because the
	// retransmission budget was spent.
	RetransmitsSkipped uint64
}

// AllocationState returns a snapshot for the stream allocator. Safe for
// concurrent use.
func (d *DownTrack) AllocationState() AllocationState {
	st := AllocationState{
		Kind:         d.kind,
		Layers:       d.source.Layers(),
		Bound:        d.bound.Load() != nil && !d.closed.Load(),
		PaddingBytes: d.alloc.paddingBytes.Load(),

		RetransmitsSkipped: d.alloc.rtxSkipped.Load(),
	}
	for l := range st.LayerBytes {
		st.LayerBytes[l] = d.alloc.layerBytes[l].Load()
	}
	d.mu.Lock()
	st.SubscriberMaxLayer = d.alloc.subscriberMax
	st.AllocatedMaxLayer = d.alloc.allocMax
	st.CurrentLayer = d.fwd.current
	st.UserPaused = d.alloc.userPaused
	st.AllocatorPaused = d.alloc.allocPaused
	d.mu.Unlock()
	return st
}

// SetAllocation applies a stream allocator's decision: layer caps the
// forwarded layer together with the subscriber's cap (the lower wins);
// LayerNone pauses forwarding until the next SetAllocation with a layer.
// This pause is the allocator's own: SetPaused (subscriber, publisher) keeps
// working independently, and forwarding runs only when neither pauses.
// Raising the target requests a keyframe for it; the switch happens at that
// keyframe, and resuming starts at one. It reports whether the forwarder's
// cap or pause changed. Safe for concurrent use.
func (d *DownTrack) SetAllocation(layer int32) bool {
	d.mu.Lock()
	d.alloc.allocPaused = layer < 0
	if layer >= 0 {
		d.alloc.allocMax = clampLayer(layer)
	}
	changed := d.applyCapsLocked()
	kf := d.fwd.setMaxLayer(d.alloc.effectiveMax(), time.Now().UnixNano())
	d.mu.Unlock()
	d.afterCapsChange(changed, kf)
	return changed
}

// applyCapsLocked brings the forwarder's cap and pause in line with the
// subscriber's and the allocator's; it reports whether either changed.
// Caller holds mu and then calls setMaxLayer (whose keyframe request is the
// caller's to send).
func (d *DownTrack) applyCapsLocked() bool {
	paused := d.alloc.effectivePaused()
	changed := d.fwd.paused != paused || d.fwd.maxLayer != d.alloc.effectiveMax()
	if d.fwd.paused != paused {
		d.fwd.setPaused(paused)
	}
	return changed
}

// afterCapsChange requests a keyframe and tells the source (dynacast) after
// a cap or pause change, without locks held.
func (d *DownTrack) afterCapsChange(changed bool, kf int32) {
	if kf != LayerNone {
		d.stats.keyframeRequests.Add(1)
		d.source.RequestKeyframe(kf)
	}
	if changed {
		d.source.SinkChanged(d)
	}
}

// rtxBurst is how much retransmission a budget lets through at once: this
// long at its rate.
const rtxBurst = 200 * time.Millisecond

// rtxBudget is a token bucket of retransmitted bytes (as on the wire).
type rtxBudget struct {
	rate   float64 // bytes per second; 0: no limit
	tokens float64
	last   int64 // unix ns of the last refill
}

// allow takes size bytes at now if the bucket holds them.
func (b *rtxBudget) allow(size int, now int64) bool {
	if b.rate == 0 {
		return true
	}
	if b.last != 0 && now > b.last {
		b.tokens = min(b.tokens+b.rate*float64(now-b.last)/1e9, b.rate*rtxBurst.Seconds())
	}
	b.last = now
	if b.tokens < float64(size) {
		return false
	}
	b.tokens -= float64(size)
	return true
}

// SetRetransmitBudget limits the down-track's NACK retransmissions to bps
// (as on the wire), with bursts of up to 200 ms of it; 0 lifts the limit.
// Retransmissions into a congested link make the congestion worse: the
// stream allocator sets a budget in proportion to what it allocates. Safe
// for concurrent use.
func (d *DownTrack) SetRetransmitBudget(bps uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := float64(bps) / 8
	if r != d.alloc.rtx.rate {
		d.alloc.rtx = rtxBudget{rate: r, tokens: r * rtxBurst.Seconds()}
	}
}

// retransmitAllowed reports whether a retransmission of an RTP packet of
// size bytes fits the budget now, and counts it if not.
func (d *DownTrack) retransmitAllowed(size int) bool {
	d.mu.Lock()
	ok := d.alloc.rtx.allow(size+WireOverhead, time.Now().UnixNano())
	d.mu.Unlock()
	if !ok {
		d.alloc.rtxSkipped.Add(1)
	}
	return ok
}

// WritePadding sends padding-only packets (PaddingPacketSize bytes of
// padding each) worth up to maxBytes, to probe the subscriber's link. They
// take the next sequence numbers and repeat the last timestamp, so the
// stream stays gap-free; they are only sent between frames, after something
// was delivered, and never more than a short burst per call. It returns the
// bytes sent as on the wire (WireOverhead included), the unit of maxBytes.
// Safe for concurrent use; like WriteRTP it
// holds the down-track's lock across the (non-blocking) writes so packets
// leave in sequence order.
func (d *DownTrack) WritePadding(maxBytes int) int {
	b := d.bound.Load()
	if b == nil || d.closed.Load() || !d.delivered.Load() {
		return 0
	}
	n := min(maxBytes/PaddingPacketWire, maxPaddingBurst)
	if n <= 0 {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fwd.video && d.fwd.current != LayerNone && !d.alloc.frameEnd {
		return 0 // inside a frame: padding would split it
	}
	first, ts, ok := d.fwd.rtp.reservePadding(n)
	if !ok {
		return 0
	}
	s := d.scratch.Get().(*scratch)
	defer d.scratch.Put(s)
	h := &s.out
	h.Version = 2
	h.Padding = true
	h.PaddingSize = PaddingPacketSize
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = h.Extensions[:0]
	h.Marker = false
	h.PayloadType = b.payloadType
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	sent := 0
	for i := range n {
		h.SequenceNumber = first + uint16(i)
		if w, err := b.writer.WriteRTP(h, nil); err != nil || w == 0 {
			// The numbers stay reserved: a gap the subscriber may NACK (and miss).
			continue
		}
		size := h.MarshalSize() + PaddingPacketSize + WireOverhead
		d.alloc.paddingPackets.Add(1)
		d.alloc.paddingBytes.Add(uint64(size))
		sent += size
	}
	h.Padding, h.PaddingSize = false, 0
	return sent
}

// reservePadding takes n outgoing sequence numbers for padding sent after
// the newest packet and returns the first, with the newest outgoing
// timestamp for them. Later packets of the current mapping move up by n.
// Reordered packets older than the newest mapped one can no longer be placed
// without colliding with the padding, so they will be refused (as after a
// forgotten drop). ok is false before anything was forwarded.
func (m *rtpMunger) reservePadding(n int) (first uint16, ts uint32, ok bool) {
	if !m.started || n <= 0 {
		return 0, 0, false
	}
	first = uint16(m.outHighest + 1)
	m.outHighest += uint64(n)
	m.snOffset -= uint64(n)
	m.lateLimit, m.hasLateLimit = m.inHighest, true
	m.dropCount, m.dropNext = 0, 0
	return first, m.outTS, true
}
