package sfu

import (
	"math/bits"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu/buffer"
)

// Simulcast layers. Single-layer tracks (and audio) use LayerLow.
const (
	// LayerNone means no layer: nothing is forwarded, or nobody needs video.
	LayerNone int32 = -1
	// LayerLow is the lowest simulcast layer (rid "q"), and the only layer of
	// a single-layer track.
	LayerLow int32 = 0
	// LayerMid is the middle simulcast layer (rid "h").
	LayerMid int32 = 1
	// LayerHigh is the highest simulcast layer (rid "f").
	LayerHigh int32 = 2
	// NumLayers is the number of simulcast layers a track can have.
	NumLayers = 3
	// MaxLayerAuto as DownTrackParams.MaxLayer selects the default cap, LayerHigh.
	MaxLayerAuto int32 = -1
)

// LayerMask is a set of simulcast layers: bit l is layer l.
type LayerMask uint8

// AllLayers is the set of every simulcast layer.
const AllLayers LayerMask = 1<<NumLayers - 1

// LayerBit returns the set holding only layer, or the empty set for a layer
// outside LayerLow..LayerHigh.
func LayerBit(layer int32) LayerMask {
	if layer < 0 || layer >= NumLayers {
		return 0
	}
	return 1 << layer
}

// Has reports whether layer is in the set.
func (m LayerMask) Has(layer int32) bool { return m&LayerBit(layer) != 0 }

// Max returns the highest layer in the set, LayerNone if it is empty.
func (m LayerMask) Max() int32 {
	m &= AllLayers
	if m == 0 {
		return LayerNone
	}
	return int32(bits.Len8(uint8(m))) - 1
}

// Count returns the number of layers in the set.
func (m LayerMask) Count() int { return bits.OnesCount8(uint8(m & AllLayers)) }

// PacketSink receives the packets of a TrackSource: a DownTrack does, and so
// does the relay's per-link feed of a track served to another node.
type PacketSink interface {
	// WriteRTP offers packet p of layer. It is called for every packet of
	// every layer, from the source's forwarding goroutines (at most one per
	// layer at a time). It must not block and should not allocate; p is valid
	// only during the call.
	WriteRTP(p *buffer.ExtPacket, layer int32)
	// WantedLayer is the highest layer the sink may need now, LayerNone if
	// none. Sources use the maximum over their sinks for dynacast: a
	// simulcast publisher sends every layer up to it.
	WantedLayer() int32
	// WantedLayers is the exact set of layers the sink needs now (empty if
	// none). A relayed source subscribes to the union over its sinks, so
	// that only those layers cross the link.
	WantedLayers() LayerMask
	// Close is called by the source when it closes: the sink stops using
	// it. It may call RemoveSink (a no-op by then). Close must not block.
	Close()
}

// TrackSource is what a DownTrack forwards from. The local Receiver implements
// it for tracks published on this node; the relay implements it for tracks
// published on another node. A DownTrack cannot tell them apart.
//
// All methods are safe for concurrent use and must not block for long: they
// are called from the down-track's RTCP loop and from the source's own
// forwarding loops.
//
// The source pushes packets to its sinks by calling PacketSink.WriteRTP for
// every packet of every layer, from any number of goroutines (at most one per
// layer at a time). Packets with an empty payload (padding) must be pushed
// too: a down-track needs them to keep its sequence numbers gap-free.
type TrackSource interface {
	// TrackID is the track's sid, e.g. "TR_xxx".
	TrackID() string
	// Kind is audio or video.
	Kind() webrtc.RTPCodecType
	// Codec is the codec of the published track.
	Codec() webrtc.RTPCodecParameters
	// Layers is the set of layers the source has (attached simulcast
	// streams); LayerLow only for audio and single-layer video.
	Layers() LayerMask

	// AddSink starts pushing packets to s. It fails with a wrapped
	// ErrReceiverClosed (or the source's equivalent) if the source is
	// closed. When the source closes, it calls Close on every sink it still
	// has. Adding a sink twice is a no-op.
	AddSink(s PacketSink) error
	// RemoveSink stops pushing packets to s. Removing an unknown sink is a
	// no-op.
	RemoveSink(s PacketSink)
	// SinkChanged tells the source that s's wanted layers changed, so that it
	// can recompute which layers are needed at all (dynacast, relay
	// subscription). It is called without any of s's locks held.
	SinkChanged(s PacketSink)

	// RequestKeyframe asks the publisher for a keyframe on layer. The source
	// throttles requests per layer.
	RequestKeyframe(layer int32)
	// ReadPacket copies the cached source packet of layer with sequence number
	// sn into dst, for NACK retransmission, and returns its length.
	ReadPacket(layer int32, sn uint16, dst []byte) (int, error)
	// SenderReport returns the publisher's last RTCP sender report for layer,
	// so that a down-track can translate it for its subscriber (A/V sync).
	SenderReport(layer int32) (buffer.SenderReport, bool)
}
