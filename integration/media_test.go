package integration

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Synthetic media. Publishers write frames that look real to an SFU (Opus TOC bytes; VP8
// frames with the RFC 6386 §9.1 frame tag and keyframe header) and carry a marker so that a
// subscriber can tell, per RTP packet, which simulcast layer and which frame it is looking at.

const (
	opusFrameDuration  = 20 * time.Millisecond
	opusFrameSize      = 80
	videoFrameDuration = time.Second / 30
	// keyframeInterval is the number of frames between periodic keyframes (1 s at 30 fps).
	keyframeInterval = 30

	// opusTOC is an Opus TOC byte (RFC 6716 §3.1): config 31 (CELT-only, fullband, 20 ms),
	// mono, code 0 (one frame in the packet).
	opusTOC = 31 << 3

	// Marker placed right after the VP8 frame header (and after the Opus TOC byte):
	// markerMagic0, markerMagic1, layer index, then a big-endian uint32 frame counter.
	markerMagic0 = 0xED
	markerMagic1 = 0x6E
	markerLen    = 7

	// fillerBase | layer is the filler byte of every VP8 frame of that layer, so even a
	// continuation packet of a fragmented frame names its layer in its first payload byte.
	fillerBase = 0xA0
	// opusFiller fills Opus frames.
	opusFiller = 0x55

	vp8TagLen       = 3
	vp8KeyHeaderLen = 7 // start code (3) + width (2) + height (2)
)

// vp8StartCode is the keyframe start code of RFC 6386 §9.1.
var vp8StartCode = [3]byte{0x9d, 0x01, 0x2a}

// simLayer describes one simulcast layer of the synthetic camera.
type simLayer struct {
	quality   livekit.VideoQuality
	width     uint16
	height    uint16
	keySize   int // bytes per keyframe
	deltaSize int // bytes per inter frame
	bitrate   uint32
}

// simulcastLayers returns the three layers, low to high (rids q, h, f). Sizes give each layer a
// distinct bitrate; keyframes of the upper layers span several RTP packets.
func simulcastLayers() []simLayer {
	return []simLayer{
		{quality: livekit.VideoQuality_LOW, width: 320, height: 180, keySize: 700, deltaSize: 150, bitrate: 60_000},
		{quality: livekit.VideoQuality_MEDIUM, width: 640, height: 360, keySize: 1800, deltaSize: 400, bitrate: 150_000},
		{quality: livekit.VideoQuality_HIGH, width: 1280, height: 720, keySize: 3600, deltaSize: 1000, bitrate: 400_000},
	}
}

// buildVP8Frame returns a VP8 frame of at least size bytes for layer with frame counter n.
//
// RFC 6386 §9.1: the 3-byte frame tag is little-endian: bit 0 is the inverse keyframe flag
// (0 = keyframe), bits 1-3 the version, bit 4 show_frame, bits 5-23 the first partition size.
// A keyframe continues with the start code 9d 01 2a and two little-endian 16-bit fields whose
// low 14 bits are width and height (upper 2 bits: scaling, 0 here).
func buildVP8Frame(layer int, l simLayer, n uint32, key bool, size int) []byte {
	hdr := vp8TagLen
	if key {
		hdr += vp8KeyHeaderLen
	}
	size = max(size, hdr+markerLen+1)
	b := make([]byte, size)
	tag := uint32(size-hdr)<<5 | 1<<4 // first_part_size, show_frame=1, version 0
	if !key {
		tag |= 1
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		copy(b[3:6], vp8StartCode[:])
		binary.LittleEndian.PutUint16(b[6:8], l.width&0x3fff)
		binary.LittleEndian.PutUint16(b[8:10], l.height&0x3fff)
	}
	m := b[hdr:]
	m[0], m[1], m[2] = markerMagic0, markerMagic1, byte(layer)
	binary.BigEndian.PutUint32(m[3:7], n)
	for i := hdr + markerLen; i < size; i++ {
		b[i] = fillerBase | byte(layer)
	}
	return b
}

// vp8Frame is what parseVP8Frame learns from the start of a frame.
type vp8Frame struct {
	layer    int
	counter  uint32
	keyframe bool
	width    uint16
	height   uint16
}

var (
	errNotMarked   = errors.New("payload carries no layer marker")
	errBadKeyframe = errors.New("keyframe without RFC 6386 start code")
)

// parseVP8Frame parses the frame tag, keyframe header and marker at the start of a VP8 frame.
func parseVP8Frame(b []byte) (vp8Frame, error) {
	if len(b) < vp8TagLen+markerLen {
		return vp8Frame{}, fmt.Errorf("frame of %d bytes: %w", len(b), errNotMarked)
	}
	f := vp8Frame{keyframe: b[0]&1 == 0}
	off := vp8TagLen
	if f.keyframe {
		if len(b) < vp8TagLen+vp8KeyHeaderLen+markerLen || [3]byte(b[3:6]) != vp8StartCode {
			return vp8Frame{}, errBadKeyframe
		}
		f.width = binary.LittleEndian.Uint16(b[6:8]) & 0x3fff
		f.height = binary.LittleEndian.Uint16(b[8:10]) & 0x3fff
		off += vp8KeyHeaderLen
	}
	m := b[off:]
	if m[0] != markerMagic0 || m[1] != markerMagic1 {
		return vp8Frame{}, errNotMarked
	}
	f.layer = int(m[2])
	f.counter = binary.BigEndian.Uint32(m[3:7])
	return f, nil
}

// vp8Source is a lksdk.SampleProvider producing the synthetic frames of one simulcast layer:
// a keyframe every keyframeInterval frames and on the next frame after the SFU asks for one
// (PLI or FIR on this layer's SSRC).
//
// Concurrency: NextSample is called by the SDK's single write goroutine of the track; onRTCP
// by the track's RTCP goroutine; the counters may be read from anywhere.
type vp8Source struct {
	lksdk.BaseSampleProvider
	layer int
	spec  simLayer

	frames       atomic.Uint32 // frames produced so far
	keyRequested atomic.Bool
	pliCount     atomic.Int32 // PLI/FIR received
	keyframes    atomic.Int32 // keyframes produced
}

func newVP8Source(layer int, spec simLayer) *vp8Source {
	return &vp8Source{layer: layer, spec: spec}
}

// NextSample implements lksdk.SampleProvider.
func (s *vp8Source) NextSample(ctx context.Context) (media.Sample, error) {
	if err := ctx.Err(); err != nil {
		return media.Sample{}, err
	}
	n := s.frames.Add(1) - 1
	key := n%keyframeInterval == 0
	if s.keyRequested.Swap(false) {
		key = true
	}
	size := s.spec.deltaSize
	if key {
		size = s.spec.keySize
		s.keyframes.Add(1)
	}
	return media.Sample{Data: buildVP8Frame(s.layer, s.spec, n, key, size), Duration: videoFrameDuration}, nil
}

// onRTCP is the track's RTCP handler: a PLI or FIR asks for a keyframe.
func (s *vp8Source) onRTCP(p rtcp.Packet) {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		s.pliCount.Add(1)
		s.keyRequested.Store(true)
	}
}

// opusSource is a lksdk.SampleProvider of 20 ms Opus-looking frames (TOC byte, marker, filler).
type opusSource struct {
	lksdk.BaseSampleProvider
	frames atomic.Uint32
}

// NextSample implements lksdk.SampleProvider.
func (s *opusSource) NextSample(ctx context.Context) (media.Sample, error) {
	if err := ctx.Err(); err != nil {
		return media.Sample{}, err
	}
	n := s.frames.Add(1) - 1
	b := make([]byte, opusFrameSize)
	b[0] = opusTOC
	b[1], b[2], b[3] = markerMagic0, markerMagic1, 0
	binary.BigEndian.PutUint32(b[4:8], n)
	for i := 1 + markerLen; i < len(b); i++ {
		b[i] = opusFiller
	}
	return media.Sample{Data: b, Duration: opusFrameDuration}, nil
}

// CurrentAudioLevel implements lksdk.AudioSampleProvider (RFC 6464 level, 0 = loudest), so the
// SDK attaches the audio-level header extension like a real microphone track.
func (s *opusSource) CurrentAudioLevel() uint8 { return 30 }
