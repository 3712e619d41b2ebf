package sfu

import (
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

// TrackSource is what a DownTrack forwards from. The local Receiver implements
// it for tracks published on this node; the relay implements it for tracks
// published on another node. A DownTrack cannot tell them apart.
//
// All methods are safe for concurrent use and must not block for long: they
// are called from the down-track's RTCP loop and from the source's own
// forwarding loops.
//
// The source pushes packets to its down-tracks by calling DownTrack.WriteRTP
// for every packet of every layer, from any number of goroutines (at most one
// per layer at a time). Packets with an empty payload (padding) must be pushed
// too: the down-track needs them to keep its sequence numbers gap-free.
type TrackSource interface {
	// TrackID is the track's sid, e.g. "TR_xxx".
	TrackID() string
	// Kind is audio or video.
	Kind() webrtc.RTPCodecType
	// Codec is the codec of the published track.
	Codec() webrtc.RTPCodecParameters

	// AddDownTrack starts pushing packets to d. It fails with a wrapped
	// ErrReceiverClosed (or the source's equivalent) if the source is closed.
	// When the source closes, it closes every down-track it still has.
	AddDownTrack(d *DownTrack) error
	// RemoveDownTrack stops pushing packets to d. Removing an unknown
	// down-track is a no-op.
	RemoveDownTrack(d *DownTrack)
	// DownTrackChanged tells the source that d's wanted layer (DownTrack.WantedLayer)
	// changed, so that it can recompute which layers are needed at all
	// (dynacast). It is called without any of d's locks held.
	DownTrackChanged(d *DownTrack)

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
