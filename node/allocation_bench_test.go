package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/buffer"
	"github.com/edgemesh/edge/sfu/bwe"
)

// benchSource is a TrackSource that does nothing: enough for down-tracks whose allocation state
// is read and set.
type benchSource struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters
}

func (s *benchSource) TrackID() string                               { return "TR_bench" }
func (s *benchSource) Kind() webrtc.RTPCodecType                     { return s.kind }
func (s *benchSource) Codec() webrtc.RTPCodecParameters              { return s.codec }
func (s *benchSource) Layers() sfu.LayerMask                         { return sfu.AllLayers }
func (s *benchSource) AddSink(sfu.PacketSink) error                  { return nil }
func (s *benchSource) RemoveSink(sfu.PacketSink)                     {}
func (s *benchSource) SinkChanged(sfu.PacketSink)                    {}
func (s *benchSource) RequestKeyframe(int32)                         {}
func (s *benchSource) ReadPacket(int32, uint16, []byte) (int, error) { return 0, buffer.ErrNotFound }
func (s *benchSource) SenderReport(int32) (buffer.SenderReport, bool) {
	return buffer.SenderReport{}, false
}

// benchEstimator is a linkEstimator whose estimate the benchmark sets; it never probes.
type benchEstimator struct{ estimate uint64 }

func (e *benchEstimator) Estimate() (uint64, bwe.Mode) { return e.estimate, bwe.ModeTWCC }
func (e *benchEstimator) Stats() bwe.Stats {
	return bwe.Stats{Mode: bwe.ModeTWCC, Estimate: e.estimate, Delivered: e.estimate, Verified: true}
}
func (e *benchEstimator) Update(time.Time)                     {}
func (e *benchEstimator) StartProbe(time.Time, uint64) error   { return bwe.ErrProbeActive }
func (e *benchEstimator) ProbeWindowOpen() bool                { return false }
func (e *benchEstimator) EndProbe(time.Time)                   {}
func (e *benchEstimator) ProbeResult() (bwe.ProbeResult, bool) { return bwe.ProbeResult{}, false }

// BenchmarkAllocationStep20 is one allocation tick of a subscriber with 20 video down-tracks
// (real sfu.DownTracks: one screen share, cameras of three requested sizes) and one audio
// down-track: sample every down-track, decide, apply the changes, report. The estimate moves
// every 25 ticks (5 s at the 200 ms tick), so downgrades, holds and upgrades all happen. The
// loop runs this 5 times a second per subscriber.
func BenchmarkAllocationStep20(b *testing.B) {
	vp8 := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}}
	est := &benchEstimator{estimate: 12_000_000}
	s := newSubscriberAllocation(subscriberAllocationParams{
		cfg:       defaultAllocationConfig(),
		estimator: est,
		signal:    func(*livekit.SignalResponse) {},
		metrics:   registerAllocationMetrics(prometheus.NewRegistry(), "ND_bench"),
		log:       zerolog.Nop(),
	})
	sizes := [][2]uint32{{1280, 720}, {640, 360}, {320, 180}}
	for i := range 21 {
		kind, codec := webrtc.RTPCodecTypeVideo, vp8
		if i == 20 {
			kind, codec = webrtc.RTPCodecTypeAudio, opus
		}
		dt, err := sfu.NewDownTrack(sfu.DownTrackParams{Source: &benchSource{kind: kind, codec: codec},
			MaxLayer: sfu.MaxLayerAuto, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		meta := trackMeta{sid: fmt.Sprintf("TR_%02d", i), publisherSid: "PA_bench", video: kind == webrtc.RTPCodecTypeVideo,
			layers: sfu.AllLayers, declared: [sfu.NumLayers]uint64{150_000, 500_000, 1_500_000}}
		sz := sizes[i%3]
		meta.pixelsAny = sz[0] * sz[1]
		if i == 0 {
			meta.source = allocator.SourceScreen
		}
		s.add(dt, meta)
	}
	s.applyPending()
	estimates := []uint64{12_000_000, 6_000_000, 3_000_000, 9_000_000, 1_500_000}
	now := time.Now()
	s.step(now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		est.estimate = estimates[i/25%len(estimates)]
		now = now.Add(200 * time.Millisecond)
		s.step(now)
	}
}
