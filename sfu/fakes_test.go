package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu/buffer"
)

var vp8Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	PayloadType:        96,
}

var opusCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	},
	PayloadType: 111,
}

// recordingWriter is a webrtc.TrackLocalWriter that keeps a copy of every
// packet written.
type recordingWriter struct {
	mu   sync.Mutex
	pkts []rtp.Packet
	err  error
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	p := rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)}
	w.pkts = append(w.pkts, p)
	return h.MarshalSize() + len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.WriteRTP(&p.Header, p.Payload)
}

func (w *recordingWriter) packets() []rtp.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]rtp.Packet(nil), w.pkts...)
}

// countingWriter is an allocation-free webrtc.TrackLocalWriter for benchmarks.
type countingWriter struct{ n atomic.Uint64 }

func (w *countingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n.Add(1)
	return len(payload), nil
}

func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

// fakeContext is a webrtc.TrackLocalContext as pion would pass to Bind.
type fakeContext struct {
	codecs []webrtc.RTPCodecParameters
	ssrc   webrtc.SSRC
	writer webrtc.TrackLocalWriter
}

func (c *fakeContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c *fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c *fakeContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c *fakeContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c *fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c *fakeContext) WriteStream() webrtc.TrackLocalWriter    { return c.writer }
func (c *fakeContext) ID() string                              { return "ctx" }
func (c *fakeContext) RTCPReader() interceptor.RTCPReader      { return nil }

// fakeSource is a TrackSource whose packet cache is a map, recording what
// down-tracks ask of it.
type fakeSource struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters
	id    string // TrackID; "TR_fake" if empty

	mu        sync.Mutex
	cache     map[int32]map[uint16][]byte
	sr        map[int32]buffer.SenderReport
	keyframes []int32
	added     []PacketSink
	removed   []PacketSink
	changed   int
}

func newFakeSource(kind webrtc.RTPCodecType, c webrtc.RTPCodecParameters) *fakeSource {
	return &fakeSource{kind: kind, codec: c, cache: map[int32]map[uint16][]byte{}, sr: map[int32]buffer.SenderReport{}}
}

func (s *fakeSource) TrackID() string {
	if s.id == "" {
		return "TR_fake"
	}
	return s.id
}
func (s *fakeSource) Kind() webrtc.RTPCodecType        { return s.kind }
func (s *fakeSource) Codec() webrtc.RTPCodecParameters { return s.codec }

func (s *fakeSource) Layers() LayerMask { return AllLayers }

func (s *fakeSource) AddSink(d PacketSink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added = append(s.added, d)
	return nil
}

func (s *fakeSource) RemoveSink(d PacketSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed = append(s.removed, d)
}

func (s *fakeSource) SinkChanged(PacketSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed++
}

func (s *fakeSource) RequestKeyframe(layer int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyframes = append(s.keyframes, layer)
}

func (s *fakeSource) ReadPacket(layer int32, sn uint16, dst []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok := s.cache[layer][sn]
	if !ok {
		return 0, buffer.ErrNotFound
	}
	return copy(dst, raw), nil
}

func (s *fakeSource) SenderReport(layer int32) (buffer.SenderReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, ok := s.sr[layer]
	return sr, ok
}

// store keeps a copy of raw in the cache, as a buffer would.
func (s *fakeSource) store(layer int32, sn uint16, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache[layer] == nil {
		s.cache[layer] = map[uint16][]byte{}
	}
	s.cache[layer][sn] = append([]byte(nil), raw...)
}

func (s *fakeSource) keyframeRequests() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.keyframes...)
}

// pushVP8 builds a VP8 RTP packet, pushes it through a real buffer.Buffer (as
// the Receiver does), stores it in the source cache and returns the parsed
// packet, valid until the next push on b.
func pushVP8(src *fakeSource, b *buffer.Buffer, layer int32, ssrc uint32, sn uint16, ts uint32,
	pid uint16, key bool, arrival time.Time) *buffer.ExtPacket {
	first := byte(0x90) // X=1, S=1, PID=0
	vp8Header := byte(0x01)
	if key {
		vp8Header = 0x00 // P=0: keyframe
	}
	payload := []byte{first, 0x80, 0x80 | byte(pid>>8), byte(pid), vp8Header, 0x11, 0x22, 0x33}
	p := rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: 96, SequenceNumber: sn, Timestamp: ts, SSRC: ssrc, Marker: true,
	}, Payload: payload}
	// A publisher header extension that the down-track must strip.
	if err := p.Header.SetExtension(3, []byte{0xAB, 0xCD}); err != nil {
		panic(err)
	}
	raw, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	src.store(layer, sn, raw)
	ext, err := b.Push(raw, arrival)
	if err != nil {
		panic(err)
	}
	return ext
}
