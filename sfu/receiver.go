package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu/buffer"
)

// ReceiverParams configures a Receiver.
type ReceiverParams struct {
	// TrackID is the LiveKit track sid, e.g. "TR_xxx".
	TrackID string
	// Kind is audio or video.
	Kind webrtc.RTPCodecType
	// Codec is the codec of the published track.
	Codec webrtc.RTPCodecParameters
	// WriteRTCP sends RTCP (PLI) to the publisher's PeerConnection. It may be
	// called from any goroutine and should not block for long. Required for
	// keyframe requests; nil drops them.
	WriteRTCP func([]rtcp.Packet) error
	// PLIThrottle is the minimum interval between keyframe requests per layer;
	// 0 means DefaultPLIThrottle.
	PLIThrottle time.Duration
	// AudioLevelExtID is the negotiated id of the ssrc-audio-level header
	// extension (RFC 6464); 0 = none.
	AudioLevelExtID uint8
	// OnMaxLayerChanged is called (video only) when the highest layer any
	// down-track wants changes; -1 means nobody needs video. It runs on the
	// goroutine that caused the change, must not block and must not call back
	// into the Receiver.
	OnMaxLayerChanged func(maxLayer int32)
	// Counters are the node-wide counters; nil keeps private ones.
	Counters *Counters
	// Logger is the parent logger; the receiver adds its fields.
	Logger zerolog.Logger
}

// Receiver is the local TrackSource of one published track: it receives the
// track's simulcast layers from the publisher's PeerConnection, keeps a
// receive buffer per layer and fans every packet out to its down-tracks.
//
// All methods are safe for concurrent use.
type Receiver struct {
	trackID    string
	kind       webrtc.RTPCodecType
	codec      webrtc.RTPCodecParameters
	writeRTCP  func([]rtcp.Packet) error
	audioExtID uint8
	onMaxLayer func(int32)
	counters   *Counters
	log        zerolog.Logger

	// sinks is the fan-out; its snapshot is read without locks by the
	// per-layer loops.
	sinks  SinkSet
	closed atomic.Bool
	audio  audioLevel

	// mu guards layers, throttle, maxLayer, the loop counts and the close
	// state, and serialises changes of sinks and OnMaxLayerChanged calls.
	// Never held across I/O. Lock order: Receiver.mu before the sinks' locks
	// (updateMaxLayer asks sinks for their wanted layer).
	mu         sync.Mutex
	layers     [NumLayers]*receiverLayer
	throttle   KeyframeThrottle
	maxLayer   int32
	rtpLoops   int // running RTP read loops
	loops      int // running read loops of both kinds
	onClose    func()
	closeDone  bool // Close has closed the down-tracks
	closeFired bool
}

// NewReceiver creates a Receiver without layers; attach them with AddLayer.
func NewReceiver(p ReceiverParams) *Receiver {
	counters := p.Counters
	if counters == nil {
		counters = &Counters{}
	}
	r := &Receiver{
		trackID:    p.TrackID,
		kind:       p.Kind,
		codec:      p.Codec,
		writeRTCP:  p.WriteRTCP,
		audioExtID: p.AudioLevelExtID,
		onMaxLayer: p.OnMaxLayerChanged,
		counters:   counters,
		log:        p.Logger.With().Str("track", p.TrackID).Logger(),
		throttle:   NewKeyframeThrottle(p.PLIThrottle),
		maxLayer:   LayerNone,
	}
	return r
}

// TrackID returns the track sid.
func (r *Receiver) TrackID() string { return r.trackID }

// Kind returns audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Codec returns the published codec.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// Layers returns the set of attached layers.
func (r *Receiver) Layers() LayerMask {
	r.mu.Lock()
	defer r.mu.Unlock()
	var m LayerMask
	for i, l := range r.layers {
		if l != nil {
			m |= LayerBit(int32(i))
		}
	}
	return m
}

// AddSink starts fanning packets out to s.
func (r *Receiver) AddSink(s PacketSink) error {
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return fmt.Errorf("track %s: %w", r.trackID, ErrReceiverClosed)
	}
	added := r.sinks.Add(s)
	r.mu.Unlock()
	if added {
		r.updateMaxLayer()
	}
	return nil
}

// RemoveSink stops fanning packets out to s.
func (r *Receiver) RemoveSink(s PacketSink) {
	r.mu.Lock()
	removed := r.sinks.Remove(s)
	r.mu.Unlock()
	if removed {
		r.updateMaxLayer()
	}
}

// SinkChanged recomputes the layers needed after s's wanted layers changed.
func (r *Receiver) SinkChanged(PacketSink) { r.updateMaxLayer() }

// NumSinks returns how many sinks (down-tracks, relay feeds) the receiver feeds.
func (r *Receiver) NumSinks() int { return r.sinks.Len() }

// updateMaxLayer recomputes the highest layer any down-track wants and
// reports a change through OnMaxLayerChanged (video only, dynacast).
func (r *Receiver) updateMaxLayer() {
	if r.kind != webrtc.RTPCodecTypeVideo || r.onMaxLayer == nil {
		return
	}
	// Serialise computation and publication so that callbacks are delivered
	// in the order of the states they describe.
	r.mu.Lock()
	defer r.mu.Unlock()
	want := LayerNone
	if !r.closed.Load() {
		want = r.sinks.MaxWanted()
	}
	if want == r.maxLayer {
		return
	}
	r.maxLayer = want
	r.onMaxLayer(want)
}

// RequestKeyframe sends a PLI for layer to the publisher, at most once per
// PLIThrottle per layer.
func (r *Receiver) RequestKeyframe(layer int32) {
	if r.closed.Load() || r.writeRTCP == nil {
		return
	}
	r.mu.Lock()
	l := r.layer(layer)
	if l == nil {
		r.mu.Unlock()
		return
	}
	allowed := r.throttle.Allow(layer, time.Now().UnixNano())
	r.mu.Unlock()
	if !allowed {
		r.counters.PLIsThrottled.Add(1)
		return
	}
	pli := &rtcp.PictureLossIndication{MediaSSRC: l.ssrc}
	if err := r.writeRTCP([]rtcp.Packet{pli}); err != nil {
		r.log.Debug().Err(err).Int32("layer", layer).Msg("send PLI")
		return
	}
	r.counters.PLIsOut.Add(1)
}

// ReadPacket copies the cached packet sn of layer into dst.
func (r *Receiver) ReadPacket(layer int32, sn uint16, dst []byte) (int, error) {
	r.mu.Lock()
	l := r.layer(layer)
	r.mu.Unlock()
	if l == nil {
		return 0, fmt.Errorf("read packet: layer %d: %w", layer, ErrLayerNotFound)
	}
	n, err := l.buf.ReadPacket(dst, sn)
	if err != nil {
		return 0, fmt.Errorf("read packet: layer %d sn %d: %w", layer, sn, err)
	}
	return n, nil
}

// SenderReport returns the publisher's last sender report for layer.
func (r *Receiver) SenderReport(layer int32) (buffer.SenderReport, bool) {
	r.mu.Lock()
	l := r.layer(layer)
	r.mu.Unlock()
	if l == nil {
		return buffer.SenderReport{}, false
	}
	return l.buf.LastSenderReport()
}

// layer returns the attached layer or nil. Called with mu held.
func (r *Receiver) layer(layer int32) *receiverLayer {
	if layer < 0 || layer >= NumLayers {
		return nil
	}
	return r.layers[layer]
}

// AudioLevel returns the smoothed audio level (0..1, 1 = loud) and whether
// the track is an active speaker now. Always (0, false) for video or without
// the audio-level extension.
func (r *Receiver) AudioLevel() (level float64, active bool) {
	return r.audio.level(time.Now().UnixNano())
}

// OnClose registers f (replacing any earlier one) to run once when all layer
// read loops have ended (the publisher is gone) or after Close, once the
// loops have stopped. If that already happened, f runs immediately. f runs on
// the goroutine of the last loop (or of Close) and must not block.
func (r *Receiver) OnClose(f func()) {
	r.mu.Lock()
	if !r.closeFired {
		r.onClose = f
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	f()
}

// Close stops the read loops and closes every sink (down-tracks run their
// OnClose callbacks). Idempotent. It does not stop the publisher's RTPReceiver.
func (r *Receiver) Close() {
	if !r.closed.CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	layers := r.layers
	sinks := r.sinks.Detach()
	r.mu.Unlock()

	now := time.Now()
	for _, l := range layers {
		if l != nil {
			l.stop(now)
		}
	}
	for _, s := range sinks {
		s.Close()
	}
	r.updateMaxLayer()
	r.mu.Lock()
	r.closeDone = true
	r.mu.Unlock()
	r.loopEnded(false, false)
}

// Stats returns per-layer receive statistics and totals. FractionLost and
// Bitrate are over the interval since the previous Stats call, so a receiver
// should have one periodic Stats caller (connection quality).
func (r *Receiver) Stats() ReceiverStats {
	r.mu.Lock()
	layers := r.layers
	r.mu.Unlock()
	var st ReceiverStats
	var expected float64
	for _, l := range layers {
		if l == nil {
			continue
		}
		bs := l.buf.Stats()
		st.Layers = append(st.Layers, LayerStats{Layer: l.layer, SSRC: l.ssrc, RID: l.rid, Stats: bs})
		st.PacketsReceived += bs.PacketsReceived
		st.PacketsLost += bs.PacketsLost
		st.Bytes += bs.Bytes
		st.Bitrate += bs.Bitrate
		st.Jitter = max(st.Jitter, bs.Jitter)
		// Weight each layer's loss by its share of the traffic.
		w := float64(bs.PacketsReceived + bs.PacketsLost)
		st.FractionLost += bs.FractionLost * w
		expected += w
	}
	if expected > 0 {
		st.FractionLost /= expected
	}
	return st
}

// ReceiverStats are a Receiver's receive statistics.
type ReceiverStats struct {
	Layers []LayerStats // attached layers, lowest first
	// Totals over all layers.
	PacketsReceived, PacketsLost, Bytes uint64
	Bitrate                             float64 // bits/s over the last interval
	FractionLost                        float64 // 0..1, traffic-weighted over layers
	Jitter                              float64 // seconds, worst layer
}

// LayerStats are the receive statistics of one layer.
type LayerStats struct {
	Layer int32
	SSRC  uint32
	RID   string
	buffer.Stats
}
