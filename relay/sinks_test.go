package relay

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// recvSink is a test sfu.PacketSink recording what reaches it.
type recvSink struct {
	want atomic.Uint32 // sfu.LayerMask

	mu      sync.Mutex
	seqs    [sfu.NumLayers]map[uint16]bool
	packets [sfu.NumLayers]int
	keys    [sfu.NumLayers]int
	first   [sfu.NumLayers]time.Time // first packet per layer
	firstKF [sfu.NumLayers]time.Time // first keyframe per layer
	closed  bool
}

func newRecvSink(want sfu.LayerMask) *recvSink {
	s := &recvSink{}
	s.want.Store(uint32(want))
	for l := range s.seqs {
		s.seqs[l] = map[uint16]bool{}
	}
	return s
}

func (s *recvSink) WriteRTP(p *buffer.ExtPacket, layer int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first[layer].IsZero() {
		s.first[layer] = time.Now()
	}
	if p.KeyFrame && s.firstKF[layer].IsZero() {
		s.firstKF[layer] = time.Now()
	}
	if p.KeyFrame {
		s.keys[layer]++
	}
	s.packets[layer]++
	s.seqs[layer][p.Header.SequenceNumber] = true
}

func (s *recvSink) WantedLayer() int32          { return s.WantedLayers().Max() }
func (s *recvSink) WantedLayers() sfu.LayerMask { return sfu.LayerMask(s.want.Load()) }
func (s *recvSink) setWant(m sfu.LayerMask)     { s.want.Store(uint32(m)) }
func (s *recvSink) count(layer int32) int       { s.mu.Lock(); defer s.mu.Unlock(); return s.packets[layer] }
func (s *recvSink) distinct(layer int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs[layer])
}
func (s *recvSink) has(layer int32, sn uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seqs[layer][sn]
}

func (s *recvSink) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *recvSink) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// recordingWriter is a webrtc.TrackLocalWriter keeping what a DownTrack writes.
type recordingWriter struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pkts = append(w.pkts, rtp.Packet{Header: h.Clone(), Payload: slices.Clone(payload)})
	return h.MarshalSize() + len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *recordingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pkts)
}

func (w *recordingWriter) packets() []rtp.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.pkts)
}

// fakeContext is the webrtc.TrackLocalContext pion passes to Bind.
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

// newDownTrack creates a down-track on src bound to a recording writer.
func newDownTrack(t testing.TB, src sfu.TrackSource, maxLayer int32) (*sfu.DownTrack, *recordingWriter) {
	t.Helper()
	dt, err := sfu.NewDownTrack(sfu.DownTrackParams{Source: src, MaxLayer: maxLayer, Logger: zerolog.Nop()})
	require.NoError(t, err)
	w := &recordingWriter{}
	_, err = dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{src.Codec()}, ssrc: 777, writer: w})
	require.NoError(t, err)
	return dt, w
}

// lossyConn drops a seeded random fraction of the datagrams it sends.
type lossyConn struct {
	net.PacketConn
	mu      sync.Mutex
	next    func() float64
	loss    float64
	dropped atomic.Int64
}

func (c *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	drop := c.next() < c.loss
	c.mu.Unlock()
	if drop {
		c.dropped.Add(1)
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}
