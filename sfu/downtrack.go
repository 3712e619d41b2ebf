package sfu

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu/buffer"
	"github.com/edgemesh/edge/sfu/codec"
)

// maxPacketSize bounds the RTP packets a down-track builds (and reads back
// from the source for retransmission).
const maxPacketSize = 1500

// DownTrackParams configures a DownTrack.
type DownTrackParams struct {
	// Source is the track to forward. Required.
	Source TrackSource
	// SubscriberID is the subscriber participant's sid (logs, metrics).
	SubscriberID string
	// StreamID is the msid stream id; LiveKit's convention is
	// "PA_publisherSid|TR_trackSid".
	StreamID string
	// MaxLayer is the initial quality cap, LayerLow..LayerHigh. The zero value
	// is LayerLow; MaxLayerAuto (or any negative value) selects LayerHigh.
	// Ignored for audio.
	MaxLayer int32
	// Counters are the node-wide counters; nil keeps private ones.
	Counters *Counters
	// Logger is the parent logger; the down-track adds its fields.
	Logger zerolog.Logger
	// Batcher, if set, lets the source hold the subscriber's sends during a
	// burst of packets (SendBatcher).
	Batcher SendBatcher
	// Writers, if set, give the down-track the writer of its negotiated
	// stream in place of pion's (StreamWriters).
	Writers StreamWriters
	// Reports sends the down-track's RTCP sender reports along with those of
	// other down-tracks; nil gives the down-track a clock of its own.
	Reports *ReportClock
}

// StreamWriters give a down-track the writer of the stream pion negotiated
// for it (the node's direct SRTP path, package egress). The writer gets the
// down-track's packets: rewritten headers without header extensions. If the
// writer's transport reads the subscriber's RTCP itself (pion then never
// sees it), it passes each compound packet to onRTCP, which may be called
// concurrently with the down-track's other methods. A writer with an
// Unbind() method is unbound when the stream ends.
type StreamWriters interface {
	StreamWriter(ctx webrtc.TrackLocalContext, onRTCP func(pkts []rtcp.Packet, now time.Time)) webrtc.TrackLocalWriter
}

// unbinder is a stream writer to tell when its stream ends.
type unbinder interface{ Unbind() }

// binding is what Bind learnt from the subscriber's PeerConnection.
type binding struct {
	ssrc        uint32
	payloadType uint8
	writer      webrtc.TrackLocalWriter
}

// scratch is the per-write working memory, pooled so the per-packet path does
// not allocate.
type scratch struct {
	out rtp.Header // outgoing header
	src rtp.Header // source header parsed for a retransmission
	vp8 codec.VP8
	raw [maxPacketSize]byte // source packet read back for a retransmission
	buf [maxPacketSize]byte // munged payload
}

// DownTrack forwards one TrackSource to one subscriber. It implements
// webrtc.TrackLocal: the node adds it to the subscriber's PeerConnection and
// then calls SetRTPSender with the returned sender.
//
// The source pushes packets with WriteRTP; nothing is written before Bind.
// All methods are safe for concurrent use.
type DownTrack struct {
	source       TrackSource
	codec        webrtc.RTPCodecParameters // source codec
	kind         webrtc.RTPCodecType
	streamID     string
	subscriberID string
	counters     *Counters
	log          zerolog.Logger
	batcher      SendBatcher   // nil: sends are never held
	writers      StreamWriters // nil: pion's writer

	bound     atomic.Pointer[binding]
	closed    atomic.Bool
	delivered atomic.Bool  // a packet has reached the subscriber's transport
	clock     *ReportClock // sends the sender reports
	scratch   sync.Pool    // of *scratch

	// mu guards the forwarder, the sequencer, the RTCP bookkeeping, sender
	// and onClose. It is held for decisions and bookkeeping, and across the
	// (non-blocking) write of a forwarded packet, so packets leave in the
	// order their sequence numbers were assigned; never across other I/O.
	mu      sync.Mutex
	fwd     *forwarder
	seq     sequencer
	reports reportState
	sender  *webrtc.RTPSender
	onClose func()

	stats downTrackCounters
	alloc allocState // stream allocator's view and controls (downtrack_alloc.go)
}

// downTrackCounters are this down-track's own counters (see DownTrackStats).
type downTrackCounters struct {
	packetsSent, bytesSent, payloadBytes  atomic.Uint64
	packetsDropped                        atomic.Uint64
	nacks, retransmits, retransmitMisses  atomic.Uint64
	plis, senderReports, keyframeRequests atomic.Uint64
}

// NewDownTrack creates a down-track and registers it with its source; from
// then on the source pushes packets to it (dropped until Bind).
func NewDownTrack(p DownTrackParams) (*DownTrack, error) {
	if p.Source == nil {
		return nil, ErrNoSource
	}
	counters := p.Counters
	if counters == nil {
		counters = &Counters{}
	}
	c := p.Source.Codec()
	kind := p.Source.Kind()
	d := &DownTrack{
		source:       p.Source,
		codec:        c,
		kind:         kind,
		streamID:     p.StreamID,
		subscriberID: p.SubscriberID,
		counters:     counters,
		batcher:      p.Batcher,
		writers:      p.Writers,
		log: p.Logger.With().Str("track", p.Source.TrackID()).
			Str("subscriber", p.SubscriberID).Logger(),
		clock: p.Reports,
		fwd: newForwarder(forwarderParams{
			video:     kind == webrtc.RTPCodecTypeVideo,
			vp8:       strings.EqualFold(c.MimeType, codec.MimeVP8),
			clockRate: c.ClockRate,
			maxLayer:  p.MaxLayer,
		}),
	}
	if d.clock == nil {
		d.clock = NewReportClock(SenderReportInterval, nil, nil)
	}
	d.scratch.New = func() any { return new(scratch) }
	d.alloc.init(d.fwd.maxLayer)
	if err := p.Source.AddSink(d); err != nil {
		return nil, fmt.Errorf("add down-track to %s: %w", p.Source.TrackID(), err)
	}
	return d, nil
}

// ID returns the source's track id (webrtc.TrackLocal).
func (d *DownTrack) ID() string { return d.source.TrackID() }

// RID returns "": a down-track is a single stream (webrtc.TrackLocal).
func (d *DownTrack) RID() string { return "" }

// StreamID returns the msid stream id (webrtc.TrackLocal).
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind returns the source's kind (webrtc.TrackLocal).
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.kind }

// SubscriberID returns the subscriber's participant sid.
func (d *DownTrack) SubscriberID() string { return d.subscriberID }

// Bind picks the negotiated codec matching the source's (webrtc.TrackLocal).
// Called by pion during negotiation; writes start after it.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := matchCodec(d.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrCodecNotNegotiated, d.codec.MimeType)
	}
	w := ctx.WriteStream()
	if d.writers != nil {
		w = d.writers.StreamWriter(ctx, d.handleRTCP)
	}
	d.bound.Store(&binding{
		ssrc:        uint32(ctx.SSRC()),
		payloadType: uint8(c.PayloadType),
		writer:      w,
	})
	return c, nil
}

// Unbind stops writes (webrtc.TrackLocal).
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	unbind(d.bound.Swap(nil))
	return nil
}

// unbind tells b's writer that its stream ended.
func unbind(b *binding) {
	if b == nil {
		return
	}
	if u, ok := b.writer.(unbinder); ok {
		u.Unbind()
	}
}

// matchCodec finds the negotiated codec for src: same MIME type and format
// parameters if possible, else the first with the same MIME type.
func matchCodec(src webrtc.RTPCodecParameters, negotiated []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	found := -1
	for i, c := range negotiated {
		if !strings.EqualFold(c.MimeType, src.MimeType) {
			continue
		}
		if c.SDPFmtpLine == src.SDPFmtpLine {
			return c, true
		}
		if found < 0 {
			found = i
		}
	}
	if found < 0 {
		return webrtc.RTPCodecParameters{}, false
	}
	return negotiated[found], true
}

// WriteRTP offers packet p of layer to the down-track (PacketSink). The
// forwarder decides whether to send it and how to rewrite it. It never blocks
// on anything but the write to the subscriber's transport, and does not
// allocate in steady state. p is only read during the call. Safe for
// concurrent use by the source's per-layer loops. When the forwarded layer
// changes (a switch at a keyframe), the source is told with SinkChanged.
func (d *DownTrack) WriteRTP(p *buffer.ExtPacket, layer int32) {
	d.alloc.observe(layer, len(p.Payload))
	b := d.bound.Load()
	if b == nil || d.closed.Load() {
		d.dropped()
		return
	}
	// The lock spans numbering and writing: several layer loops call WriteRTP at once, and a
	// packet numbered first must also leave first, or the subscriber sees the sequence go
	// backwards at every layer switch. The write is a non-blocking UDP send.
	d.mu.Lock()
	before := d.fwd.current
	dec := d.fwd.process(p, layer)
	switched := d.fwd.current != before
	if dec.drop == forwardPacket {
		d.seq.push(sentPacket{
			outSN:  dec.sn,
			srcSN:  p.Header.SequenceNumber,
			ts:     dec.ts,
			layer:  int8(layer),
			hasVP8: dec.hasVP8,
			vp8:    dec.vp8,
		})
		s := d.scratch.Get().(*scratch)
		var vp8 *codec.VP8
		if dec.hasVP8 {
			vp8 = &p.VP8
		}
		if !d.send(b, s, &p.Header, p.Payload, dec.sn, dec.ts, vp8, dec.vp8) && !d.delivered.Load() {
			// Nothing has reached the subscriber yet (its transport is not up): start over,
			// so that the first packet it does get is the start of a keyframe.
			d.fwd.setPaused(true)
			d.fwd.setPaused(false)
		}
		d.alloc.frameEnd = p.Header.Marker
		d.scratch.Put(s)
	}
	d.mu.Unlock()

	if switched {
		d.source.SinkChanged(d)
	}
	if dec.keyframe != LayerNone {
		d.stats.keyframeRequests.Add(1)
		d.source.RequestKeyframe(dec.keyframe)
	}
	if dec.drop != forwardPacket {
		d.dropped()
	}
}

// send rewrites and writes one packet: the source header src with the
// outgoing sequence number, timestamp, SSRC and payload type, without the
// publisher's header extensions; with a VP8 descriptor rewritten when vp8 is
// set. It reports whether the write succeeded.
func (d *DownTrack) send(b *binding, s *scratch, src *rtp.Header, payload []byte,
	sn uint16, ts uint32, vp8 *codec.VP8, m vp8Munged) bool {
	h := &s.out
	h.Version = 2
	h.Padding = false
	h.PaddingSize = 0
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = h.Extensions[:0]
	h.Marker = src.Marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = sn
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = append(h.CSRC[:0], src.CSRC...)

	out := payload
	if vp8 != nil {
		desc := *vp8
		m.apply(&desc)
		n, err := desc.MarshalDescriptor(s.buf[:])
		rest := payload[vp8.HeaderSize:]
		if err != nil || n+len(rest) > len(s.buf) {
			d.dropped()
			return false
		}
		n += copy(s.buf[n:], rest)
		out = s.buf[:n]
	}
	// pion drops writes silently (0, nil) until the subscriber's SRTP session is up.
	if n, err := b.writer.WriteRTP(h, out); err != nil || n == 0 {
		d.dropped()
		return false
	}
	d.delivered.Store(true)
	size := uint64(h.MarshalSize() + len(out))
	d.counters.PacketsOut.Add(1)
	d.counters.BytesOut.Add(size)
	d.stats.packetsSent.Add(1)
	d.stats.bytesSent.Add(size)
	d.stats.payloadBytes.Add(uint64(len(out)))
	return true
}

func (d *DownTrack) dropped() {
	d.counters.PacketsDropped.Add(1)
	d.stats.packetsDropped.Add(1)
}

// SetMaxLayer sets the subscriber's cap on the layer forwarded (its quality
// or size request); a stream allocator's cap (SetAllocation) applies too, and
// the lower wins. Values outside LayerLow..LayerHigh select LayerHigh. If the
// target layer changes, a keyframe is requested for it; the switch happens at
// that keyframe.
func (d *DownTrack) SetMaxLayer(layer int32) {
	d.mu.Lock()
	d.alloc.subscriberMax = clampLayer(layer)
	changed := d.applyCapsLocked()
	kf := d.fwd.setMaxLayer(d.alloc.effectiveMax(), time.Now().UnixNano())
	d.mu.Unlock()
	d.afterCapsChange(changed, kf)
}

// SetPaused stops (true) or resumes (false) forwarding: the subscriber
// disabled the track, or the publisher muted it. Sequence numbers and
// timestamps continue seamlessly on resume; video resumes at a keyframe.
func (d *DownTrack) SetPaused(paused bool) {
	d.mu.Lock()
	d.alloc.userPaused = paused
	changed := d.applyCapsLocked()
	d.mu.Unlock()
	if changed {
		d.source.SinkChanged(d)
	}
}

// Paused reports whether forwarding is paused (SetPaused, or the allocator).
func (d *DownTrack) Paused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fwd.paused
}

// CurrentLayer returns the layer being forwarded now, LayerNone if none.
func (d *DownTrack) CurrentLayer() int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fwd.current
}

// MaxLayer returns the current quality cap.
func (d *DownTrack) MaxLayer() int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fwd.maxLayer
}

// WantedLayer is the highest layer this down-track may need (PacketSink): its
// cap (LayerLow for audio), or LayerNone while paused or closed. Sources use
// it for dynacast.
func (d *DownTrack) WantedLayer() int32 {
	if d.closed.Load() {
		return LayerNone
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fwd.paused {
		return LayerNone
	}
	if !d.fwd.video {
		return LayerLow
	}
	return d.fwd.maxLayer
}

// WantedLayers is the set of layers this down-track needs now (PacketSink):
// its cap, plus the layer it forwards until a switch away from it completes
// at a keyframe; LayerLow for audio; empty while paused or closed.
func (d *DownTrack) WantedLayers() LayerMask {
	if d.closed.Load() {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fwd.paused {
		return 0
	}
	if !d.fwd.video {
		return LayerBit(LayerLow)
	}
	return LayerBit(d.fwd.maxLayer) | LayerBit(d.fwd.current)
}

// OnClose registers f (replacing any earlier one) to run once when the
// down-track closes (Close, or its source closed). If it is already closed, f
// runs immediately. f runs on the closing goroutine and must not block.
func (d *DownTrack) OnClose(f func()) {
	d.mu.Lock()
	if !d.closed.Load() {
		d.onClose = f
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	f()
}

// Close stops forwarding, removes the down-track from its source (PacketSink:
// the source calls it when it closes), stops its
// RTPSender (which ends the RTCP read loop; the node still removes the track
// from the PeerConnection to renegotiate) and runs the OnClose callback.
// Idempotent.
func (d *DownTrack) Close() {
	if !d.closed.CompareAndSwap(false, true) {
		return
	}
	unbind(d.bound.Swap(nil))
	d.source.RemoveSink(d)
	d.mu.Lock()
	sender, f := d.sender, d.onClose
	d.onClose = nil
	d.mu.Unlock()
	// After the lock: a SetRTPSender that saw the down-track open has added it.
	d.clock.remove(d)
	if sender != nil {
		if err := sender.Stop(); err != nil {
			d.log.Debug().Err(err).Msg("stop rtp sender")
		}
	}
	if f != nil {
		f()
	}
}
