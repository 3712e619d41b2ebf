package main

import (
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// layerSpec describes one synthetic simulcast layer.
type layerSpec struct {
	rid     string
	width   uint16
	height  uint16
	bitrate int // bits per second, on average over a keyframe interval
}

// simulcastLayers returns the three VP8 simulcast layers the publisher sends, low to high.
func simulcastLayers() [3]layerSpec {
	return [3]layerSpec{
		{rid: "q", width: 320, height: 180, bitrate: 150_000},
		{rid: "h", width: 640, height: 360, bitrate: 500_000},
		{rid: "f", width: 1280, height: 720, bitrate: 1_900_000},
	}
}

const (
	videoFPS = 30
	// keyframeInterval is the periodic keyframe spacing (RFC 6386 keyframes every 2 s).
	keyframeInterval = 2 * time.Second
	// keyframeScale is how much larger than an average frame a keyframe is.
	keyframeScale = 3
	// vp8KeyHeaderLen is the frame tag (3) + start code (3) + width and height (2+2).
	vp8KeyHeaderLen = 10
	// vp8InterHeaderLen is the frame tag alone.
	vp8InterHeaderLen = 3

	opusFrame   = 20 * time.Millisecond
	opusBitrate = 32_000
	// opusTOC is an Opus TOC byte (RFC 6716 §3.1): config 15 (hybrid fullband, 20 ms), mono,
	// one frame per packet.
	opusTOC = 15 << 3
	// audioLevel is the RFC 6464 level reported for the synthetic audio (-dBov): clearly speaking.
	audioLevel = 30
)

// vp8Source produces synthetic VP8 frames for one simulcast layer at videoFPS: a keyframe
// every keyframeInterval and at the next frame after requestKeyframe. Frames carry a real
// RFC 6386 §9.1 frame tag (and, on keyframes, the start code and dimensions) followed by filler.
//
// Concurrency: NextSample is called by one goroutine (the SDK's write worker) and returns a
// slice that is valid until the next call; requestKeyframe and the counters are safe from any
// goroutine.
type vp8Source struct {
	spec      layerSpec
	keyEvery  int // frames between periodic keyframes
	keySize   int
	deltaSize int
	buf       []byte
	frame     int

	forceKey  atomic.Bool
	plis      atomic.Uint64 // keyframe requests received
	keyframes atomic.Uint64 // keyframes produced
}

// newVP8Source builds the source for spec; seed fixes the filler bytes.
func newVP8Source(spec layerSpec, seed uint64) *vp8Source {
	keyEvery := int(keyframeInterval.Seconds() * videoFPS)
	avg := spec.bitrate / 8 / videoFPS
	keySize := keyframeScale * avg
	deltaSize := (keyEvery*avg - keySize) / (keyEvery - 1)
	s := &vp8Source{
		spec:      spec,
		keyEvery:  keyEvery,
		keySize:   keySize,
		deltaSize: max(deltaSize, vp8InterHeaderLen+1),
		buf:       make([]byte, keySize),
	}
	fillPseudoRandom(s.buf, seed)
	return s
}

// requestKeyframe makes the next frame a keyframe (a PLI or FIR arrived).
func (s *vp8Source) requestKeyframe() {
	s.plis.Add(1)
	s.forceKey.Store(true)
}

// NextSample implements lksdk.SampleProvider.
func (s *vp8Source) NextSample(ctx context.Context) (media.Sample, error) {
	if ctx.Err() != nil {
		return media.Sample{}, io.EOF
	}
	key := s.frame%s.keyEvery == 0
	if s.forceKey.Swap(false) {
		key = true
		s.frame = 0 // restart the periodic schedule after a requested keyframe
	}
	s.frame++
	size := s.deltaSize
	if key {
		size = s.keySize
		s.keyframes.Add(1)
	}
	frame := s.buf[:size]
	writeVP8Header(frame, key, s.spec.width, s.spec.height)
	return media.Sample{Data: frame, Duration: time.Second / videoFPS}, nil
}

// OnBind, OnUnbind and Close implement lksdk.SampleProvider; the source holds no resources.
func (s *vp8Source) OnBind() error   { return nil }
func (s *vp8Source) OnUnbind() error { return nil }
func (s *vp8Source) Close() error    { return nil }

// writeVP8Header writes the RFC 6386 §9.1 uncompressed data chunk at the start of frame:
// a 3-byte little-endian frame tag (bit 0: 0 = keyframe; bits 1-3: version 0; bit 4: show_frame;
// bits 5-23: first partition size), and for keyframes the start code 9d 01 2a and 14-bit
// width and height with a zero scale. frame must be longer than the header.
func writeVP8Header(frame []byte, key bool, width, height uint16) {
	hdr := vp8InterHeaderLen
	if key {
		hdr = vp8KeyHeaderLen
	}
	// A plausible first partition: a fifth of the data after the header, at least one byte.
	firstPart := max((len(frame)-hdr)/5, 1)
	tag := uint32(firstPart)<<5 | 1<<4 // show_frame
	if !key {
		tag |= 1
	}
	frame[0], frame[1], frame[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		frame[3], frame[4], frame[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(frame[6:8], width&0x3fff)
		binary.LittleEndian.PutUint16(frame[8:10], height&0x3fff)
	}
}

// opusSource produces synthetic 20 ms Opus packets at opusBitrate.
//
// Concurrency: as vp8Source.
type opusSource struct {
	buf []byte
}

func newOpusSource(seed uint64) *opusSource {
	buf := make([]byte, opusBitrate/8*int(opusFrame/time.Millisecond)/1000)
	fillPseudoRandom(buf, seed)
	buf[0] = opusTOC
	return &opusSource{buf: buf}
}

// NextSample implements lksdk.SampleProvider.
func (s *opusSource) NextSample(ctx context.Context) (media.Sample, error) {
	if ctx.Err() != nil {
		return media.Sample{}, io.EOF
	}
	return media.Sample{Data: s.buf, Duration: opusFrame}, nil
}

// CurrentAudioLevel implements lksdk.AudioSampleProvider.
func (s *opusSource) CurrentAudioLevel() uint8 { return audioLevel }

// OnBind, OnUnbind and Close implement lksdk.SampleProvider.
func (s *opusSource) OnBind() error   { return nil }
func (s *opusSource) OnUnbind() error { return nil }
func (s *opusSource) Close() error    { return nil }

// fillPseudoRandom fills b with deterministic incompressible-looking bytes.
func fillPseudoRandom(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
