package relay

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var (
	vp8Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
)

// waitFor is the timeout of require.Eventually in these tests: generous, as
// the race detector and a shared machine slow everything down.
const waitFor = 10 * time.Second

// newEndpoint starts an endpoint on 127.0.0.1 with test-friendly timeouts.
func newEndpoint(t testing.TB, id string, tracks LocalTracks, opts ...func(*Config)) *Endpoint {
	t.Helper()
	cfg := Config{
		NodeID:      id,
		ClusterKey:  testKey,
		ListenAddr:  "127.0.0.1:0",
		Tracks:      tracks,
		RedialMin:   20 * time.Millisecond,
		RedialMax:   200 * time.Millisecond,
		KeepAlive:   time.Second,
		LinkTimeout: 5 * time.Second,
		Logger:      zerolog.Nop(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

// dial connects from to the node of to.
func dial(t testing.TB, from, to *Endpoint) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	p, err := from.Dial(ctx, to.NodeID(), to.Addr().String())
	require.NoError(t, err)
	return p
}

func subscribe(t testing.TB, p *Peer, sid string) *RemoteTrack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	rt, err := p.Subscribe(ctx, sid, "")
	require.NoError(t, err)
	return rt
}

// trackMap is a LocalTracks backed by a map.
type trackMap struct {
	mu     sync.Mutex
	tracks map[string]sfu.TrackSource
}

func newTrackMap(srcs ...sfu.TrackSource) *trackMap {
	m := &trackMap{tracks: map[string]sfu.TrackSource{}}
	for _, s := range srcs {
		m.tracks[s.TrackID()] = s
	}
	return m
}

func (m *trackMap) LookupTrack(_ context.Context, sid, _ string) (sfu.TrackSource, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.tracks[sid]
	return s, ok
}

// testSource is a local sfu.TrackSource fed synthetic RTP through real
// buffers, like the sfu.Receiver is fed by a publisher.
type testSource struct {
	sid    string
	kind   webrtc.RTPCodecType
	codec  webrtc.RTPCodecParameters
	layers sfu.LayerMask // layers with a buffer
	active atomic.Uint32 // sfu.LayerMask the generator sends; Layers reports it
	sinks  sfu.SinkSet
	bufs   [sfu.NumLayers]*buffer.Buffer
	closed atomic.Bool

	keyframes [sfu.NumLayers]atomic.Int64 // requests per layer
	maxWanted atomic.Int32

	// Generator state per layer (pushing goroutine only).
	seq [sfu.NumLayers]uint16
	ts  [sfu.NumLayers]uint32
	pid [sfu.NumLayers]uint16
}

func newTestSource(sid string, kind webrtc.RTPCodecType, layers sfu.LayerMask) *testSource {
	s := &testSource{sid: sid, kind: kind, codec: vp8Codec, layers: layers}
	if kind == webrtc.RTPCodecTypeAudio {
		s.codec = opusCodec
	}
	for l := range int32(sfu.NumLayers) {
		if layers.Has(l) {
			s.bufs[l] = buffer.New(buffer.Params{SSRC: ssrcOf(l), ClockRate: s.codec.ClockRate, MimeType: s.codec.MimeType})
		}
		s.seq[l] = uint16(1000 * (l + 1))
	}
	s.maxWanted.Store(sfu.LayerNone)
	s.active.Store(uint32(layers))
	return s
}

func ssrcOf(layer int32) uint32 { return 5000 + uint32(layer) }

func (s *testSource) TrackID() string                  { return s.sid }
func (s *testSource) Kind() webrtc.RTPCodecType        { return s.kind }
func (s *testSource) Codec() webrtc.RTPCodecParameters { return s.codec }
func (s *testSource) Layers() sfu.LayerMask            { return sfu.LayerMask(s.active.Load()) }

func (s *testSource) AddSink(k sfu.PacketSink) error {
	if s.closed.Load() {
		return sfu.ErrReceiverClosed
	}
	s.sinks.Add(k)
	s.maxWanted.Store(s.sinks.MaxWanted())
	return nil
}

func (s *testSource) RemoveSink(k sfu.PacketSink) {
	s.sinks.Remove(k)
	s.maxWanted.Store(s.sinks.MaxWanted())
}

func (s *testSource) SinkChanged(sfu.PacketSink) { s.maxWanted.Store(s.sinks.MaxWanted()) }

func (s *testSource) RequestKeyframe(layer int32) {
	if layer >= 0 && layer < sfu.NumLayers {
		s.keyframes[layer].Add(1)
	}
}

func (s *testSource) ReadPacket(layer int32, sn uint16, dst []byte) (int, error) {
	if layer < 0 || layer >= sfu.NumLayers || s.bufs[layer] == nil {
		return 0, sfu.ErrLayerNotFound
	}
	return s.bufs[layer].ReadPacket(dst, sn)
}

func (s *testSource) SenderReport(layer int32) (buffer.SenderReport, bool) {
	if layer < 0 || layer >= sfu.NumLayers || s.bufs[layer] == nil {
		return buffer.SenderReport{}, false
	}
	return s.bufs[layer].LastSenderReport()
}

// close ends the track: its sinks are closed, as a Receiver does.
func (s *testSource) close() {
	s.closed.Store(true)
	for _, k := range s.sinks.Detach() {
		k.Close()
	}
}

// push generates the next packet of layer (a VP8 keyframe if key, with a
// valid descriptor; an Opus-like frame for audio) of payload size bytes,
// buffers it and fans it out. It returns the packet's sequence number.
// One goroutine per layer.
func (s *testSource) push(layer int32, key bool, size int, now time.Time) uint16 {
	s.seq[layer]++
	s.ts[layer] += 3000
	sn := s.seq[layer]
	var payload []byte
	if s.kind == webrtc.RTPCodecTypeAudio {
		payload = make([]byte, size)
		payload[0] = 0x78 // an Opus TOC byte
	} else {
		s.pid[layer] = (s.pid[layer] + 1) & 0x7FFF
		pid := s.pid[layer]
		vp8 := byte(0x01)
		if key {
			vp8 = 0x00 // P=0: keyframe
		}
		payload = make([]byte, max(size, 8))
		copy(payload, []byte{0x90, 0x80, 0x80 | byte(pid>>8), byte(pid), vp8, 0x11, 0x22, 0x33})
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(s.codec.PayloadType),
		SequenceNumber: sn, Timestamp: s.ts[layer], SSRC: ssrcOf(layer), Marker: true}, Payload: payload}
	raw, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	ext, err := s.bufs[layer].Push(raw, now)
	if err != nil {
		panic(err)
	}
	s.sinks.WriteRTP(ext, layer)
	return sn
}

// senderReport records a publisher sender report for layer.
func (s *testSource) senderReport(layer int32, ntp uint64, rtpTime uint32, at time.Time) {
	s.bufs[layer].OnSenderReport(&rtcp.SenderReport{SSRC: ssrcOf(layer), NTPTime: ntp, RTPTime: rtpTime}, at)
}

// generator pushes media on a source at a steady pace until stopped.
type generator struct {
	stop chan struct{}
	done chan struct{}
}

// runGenerator pushes one packet per layer of src every interval (a keyframe
// every keyEvery packets, and on request) until the returned stop is called.
func runGenerator(t testing.TB, src *testSource, interval time.Duration, keyEvery int, size int) func() {
	t.Helper()
	g := &generator{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var served [sfu.NumLayers]int64
		for i := 0; ; i++ {
			select {
			case <-g.stop:
				return
			case now := <-tick.C:
				for l := range int32(sfu.NumLayers) {
					if !src.Layers().Has(l) {
						continue
					}
					req := src.keyframes[l].Load()
					key := i%keyEvery == 0 || req > served[l]
					served[l] = req
					src.push(l, key && src.kind == webrtc.RTPCodecTypeVideo, size, now)
				}
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(g.stop)
			<-g.done
		})
	}
	t.Cleanup(stop)
	return stop
}
