package node

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/bwe"
)

// metricValue reads a gauge or counter.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, m.Write(&out))
	if g := out.GetGauge(); g != nil {
		return g.GetValue()
	}
	return out.GetCounter().GetValue()
}

// fakeSink is an allocSink whose offered bytes grow at set rates.
type fakeSink struct {
	mu          sync.Mutex
	st          sfu.AllocationState
	rates       [sfu.NumLayers]uint64 // bits/s offered per layer
	allocations []int32
	rtxBudget   uint64
	padded      int
	pads        int  // WritePadding calls that wrote something
	frameOpen   bool // WritePadding refuses (mid-frame)
}

func newFakeVideo(maxLayer int32) *fakeSink {
	return &fakeSink{
		st:    sfu.AllocationState{Kind: webrtc.RTPCodecTypeVideo, Layers: sfu.AllLayers, SubscriberMaxLayer: maxLayer, Bound: true},
		rates: [sfu.NumLayers]uint64{150_000, 500_000, 1_500_000},
	}
}

func newFakeAudio() *fakeSink {
	return &fakeSink{st: sfu.AllocationState{Kind: webrtc.RTPCodecTypeAudio, Layers: sfu.LayerBit(0), Bound: true},
		rates: [sfu.NumLayers]uint64{40_000}}
}

// advance lets d of media flow.
func (f *fakeSink) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, r := range f.rates {
		f.st.LayerBytes[l] += uint64(float64(r) / 8 * d.Seconds())
	}
}

func (f *fakeSink) AllocationState() sfu.AllocationState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeSink) SetAllocation(layer int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocations = append(f.allocations, layer)
	f.st.AllocatorPaused = layer < 0
	return true
}

func (f *fakeSink) SetRetransmitBudget(bps uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rtxBudget = bps
}

func (f *fakeSink) WritePadding(maxBytes int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frameOpen {
		return 0
	}
	n := maxBytes / sfu.PaddingPacketWire * sfu.PaddingPacketWire
	f.padded += n
	if n > 0 {
		f.pads++
	}
	f.st.PaddingBytes += uint64(n)
	return n
}

func (f *fakeSink) paddingWrites() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pads
}

func (f *fakeSink) lastAllocation() int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.allocations) == 0 {
		return -100
	}
	return f.allocations[len(f.allocations)-1]
}

// fakeEstimator is a linkEstimator with a settable estimate and scripted probe results.
type fakeEstimator struct {
	estimate   uint64
	mode       bwe.Mode
	delivered  uint64
	unverified bool     // Stats().Verified is false
	probes     []uint64 // targets of StartProbe
	ended      int
	closed     bool // the estimator closed the window early
	results    []bwe.ProbeResult
	updates    int
}

func (e *fakeEstimator) Estimate() (uint64, bwe.Mode) { return e.estimate, e.mode }
func (e *fakeEstimator) Stats() bwe.Stats {
	return bwe.Stats{Delivered: e.delivered, Verified: !e.unverified}
}
func (e *fakeEstimator) Update(time.Time) { e.updates++ }
func (e *fakeEstimator) StartProbe(_ time.Time, target uint64) error {
	e.probes = append(e.probes, target)
	return nil
}
func (e *fakeEstimator) EndProbe(time.Time)    { e.ended++ }
func (e *fakeEstimator) ProbeWindowOpen() bool { return len(e.probes) > e.ended && !e.closed }
func (e *fakeEstimator) ProbeResult() (bwe.ProbeResult, bool) {
	if len(e.results) == 0 {
		return bwe.ProbeResult{}, false
	}
	r := e.results[0]
	e.results = e.results[1:]
	return r, true
}

type allocHarness struct {
	s       *subscriberAllocation
	est     *fakeEstimator
	metrics *allocMetrics
	signals []*livekit.StreamStateUpdate
	now     time.Time
}

func newAllocHarness(t *testing.T, est *fakeEstimator) *allocHarness {
	t.Helper()
	h := &allocHarness{est: est, now: time.Unix(1_000_000, 0),
		metrics: registerAllocationMetrics(prometheus.NewRegistry(), "ND_test")}
	h.s = newSubscriberAllocation(subscriberAllocationParams{
		cfg:       defaultAllocationConfig(),
		estimator: est,
		signal: func(m *livekit.SignalResponse) {
			if u := m.GetStreamStateUpdate(); u != nil {
				h.signals = append(h.signals, u)
			}
		},
		metrics: h.metrics,
		log:     zerolog.Nop(),
		// Never started: the harness steps the allocation itself.
		sched: newAllocScheduler(time.Hour, time.Hour, func() bool { return false }, func() {}),
	})
	return h
}

func (h *allocHarness) add(sink *fakeSink, sid string, source allocator.Source) {
	h.s.add(sink, trackMeta{sid: sid, publisherSid: "PA_pub", source: source, video: sink.st.Kind == webrtc.RTPCodecTypeVideo})
}

// run advances time by d in steps of the allocation tick, letting media flow.
func (h *allocHarness) run(d time.Duration, sinks ...*fakeSink) {
	tick := h.s.cfg.Tick
	for end := h.now.Add(d); h.now.Before(end); {
		h.now = h.now.Add(tick)
		for _, s := range sinks {
			s.advance(tick)
		}
		h.s.step(h.now)
	}
}

func TestAllocationPausesAndResumes(t *testing.T) {
	est := &fakeEstimator{estimate: 5_000_000, mode: bwe.ModeTWCC}
	h := newAllocHarness(t, est)
	video, audio := newFakeVideo(sfu.LayerHigh), newFakeAudio()
	h.add(video, "TR_v", allocator.SourceCamera)
	h.add(audio, "TR_a", allocator.SourceCamera)

	h.run(2*time.Second, video, audio)
	require.Equal(t, sfu.LayerHigh, video.lastAllocation())
	require.Empty(t, audio.allocations, "audio is never allocated")
	require.Empty(t, h.signals)

	est.estimate = 100_000
	h.run(200*time.Millisecond, video, audio)
	require.Equal(t, sfu.LayerNone, video.lastAllocation(), "lowest layer does not fit: paused")
	require.Len(t, h.signals, 1)
	require.Equal(t, []*livekit.StreamStateInfo{{ParticipantSid: "PA_pub", TrackSid: "TR_v", State: livekit.StreamState_PAUSED}},
		h.signals[0].StreamStates)
	require.Equal(t, 1.0, metricValue(t, h.metrics.paused))
	require.Equal(t, 100_000.0, metricValue(t, h.metrics.estimate))

	est.estimate = 700_000
	h.run(2*time.Second, video, audio)
	require.Equal(t, sfu.LayerNone, video.lastAllocation(), "resume waits for the hold")
	h.run(2*time.Second, video, audio)
	require.Equal(t, sfu.LayerMid, video.lastAllocation(), "700k minus audio: middle layer")
	require.Len(t, h.signals, 2)
	require.Equal(t, livekit.StreamState_ACTIVE, h.signals[1].StreamStates[0].State)
	require.Equal(t, 0.0, metricValue(t, h.metrics.paused))
	require.InDelta(t, 500_000, metricValue(t, h.metrics.allocated), 10_000)
	require.InDelta(t, 125_000, float64(video.rtxBudget), 3_000, "retransmissions: a quarter of the allocation")

	// A track the subscriber disabled is left alone.
	video.mu.Lock()
	video.st.UserPaused = true
	video.mu.Unlock()
	n := len(video.allocations)
	est.estimate = 50_000
	h.run(time.Second, video, audio)
	require.Len(t, video.allocations, n)
	require.Len(t, h.signals, 2)
}

func TestAllocationUnconstrainedWithoutFeedback(t *testing.T) {
	est := &fakeEstimator{estimate: 1_500_000, mode: bwe.ModeNone}
	h := newAllocHarness(t, est)
	video := newFakeVideo(sfu.LayerHigh)
	h.add(video, "TR_v", allocator.SourceCamera)
	h.run(time.Second, video)
	require.Equal(t, []int32{sfu.LayerMid}, video.allocations, "held to the initial estimate at first")
	h.run(noFeedbackGrace, video)
	require.Equal(t, []int32{sfu.LayerMid, sfu.LayerHigh}, video.allocations,
		"no feedback at all: what the subscriber asked for")
	require.Zero(t, video.rtxBudget, "no estimate, no retransmission limit")
	require.Empty(t, est.probes, "nothing to probe without feedback")
	require.Equal(t, 1.0, metricValue(t, h.metrics.subscribers.WithLabelValues("none")))
}

func TestAllocationProbes(t *testing.T) {
	est := &fakeEstimator{estimate: 600_000, mode: bwe.ModeTWCC, delivered: 540_000}
	h := newAllocHarness(t, est)
	video, audio := newFakeVideo(sfu.LayerHigh), newFakeAudio()
	h.add(video, "TR_v", allocator.SourceCamera)
	h.add(audio, "TR_a", allocator.SourceCamera)
	h.run(h.s.cfg.Tick, video, audio) // nothing measured yet: declared or default rates
	require.Equal(t, sfu.LayerMid, video.lastAllocation())
	require.Len(t, est.probes, 1, "limited by bandwidth: probe")
	require.InDelta(t, 900_000, float64(est.probes[0]), 1, "1.5 times the estimate")
	require.True(t, h.s.probe.running)
	require.InDelta(t, 900_000-500_000, h.s.probe.rate, 1, "padding: target minus what is sent")

	// The pump pads at that rate until the window ends.
	start := h.now
	for at := start; at.Before(start.Add(h.s.cfg.ProbeWindow)); at = at.Add(h.s.cfg.PumpInterval) {
		h.s.pumpPadding(at)
	}
	expected := h.s.probe.rate / 8 * (h.s.cfg.ProbeWindow - h.s.cfg.PumpInterval).Seconds() // last pump at end-10ms
	require.InDelta(t, expected, float64(video.padded), 2*sfu.PaddingPacketWire, "padding bytes over the window")
	require.Zero(t, audio.padded, "video pads first")
	h.s.pumpPadding(start.Add(h.s.cfg.ProbeWindow))
	require.False(t, h.s.probe.running)
	require.Equal(t, 1, est.ended)

	// No new probe until the result is in; a success allows the next one soon.
	h.run(time.Second, video, audio)
	require.Len(t, est.probes, 1)
	est.results = append(est.results, bwe.ProbeResult{Success: true, Estimate: 900_000})
	est.estimate = 900_000
	h.run(time.Second, video, audio)
	require.Len(t, est.probes, 2)
	require.Equal(t, 1.0, metricValue(t, h.metrics.probes.WithLabelValues("success")))
	require.Positive(t, metricValue(t, h.metrics.padding), "padding counted")
}

// TestAllocationNoProbeWithoutPadding: early on, the estimate not verified yet and little
// delivered (the video allocated but not arriving yet), the allocator asks for a probe below
// what is allocated; it would pad nothing and measure only the media that flows, so none starts.
func TestAllocationNoProbeWithoutPadding(t *testing.T) {
	est := &fakeEstimator{estimate: 1_500_000, mode: bwe.ModeTWCC, delivered: 46_000, unverified: true}
	h := newAllocHarness(t, est)
	video, audio := newFakeVideo(sfu.LayerHigh), newFakeAudio()
	h.add(video, "TR_v", allocator.SourceCamera)
	h.add(audio, "TR_a", allocator.SourceCamera)
	h.s.step(h.now)
	require.Equal(t, sfu.LayerMid, video.lastAllocation(), "limited by the estimate")
	require.Empty(t, est.probes, "a probe below the allocation pads nothing")
	require.False(t, h.s.probe.running)

	// Once the media flows, delivered rises and a probe with padding starts.
	est.delivered = 560_000
	est.estimate = 600_000
	est.unverified = false
	h.run(time.Second, video, audio)
	require.NotEmpty(t, est.probes)
	require.True(t, h.s.probe.running)
	require.Positive(t, h.s.probe.rate)
}

func TestAllocationPaddingFallsBackToAudio(t *testing.T) {
	est := &fakeEstimator{estimate: 600_000, mode: bwe.ModeTWCC}
	h := newAllocHarness(t, est)
	video, audio := newFakeVideo(sfu.LayerHigh), newFakeAudio()
	video.frameOpen = true
	h.add(video, "TR_v", allocator.SourceCamera)
	h.add(audio, "TR_a", allocator.SourceCamera)
	h.run(h.s.cfg.Tick, video, audio)
	require.True(t, h.s.probe.running)
	h.s.pumpPadding(h.now.Add(50 * time.Millisecond))
	require.Zero(t, video.padded)
	require.Positive(t, audio.padded)
}

// TestAllocationSchedulerLifecycle: the scheduler's goroutine starts with its first member,
// applies track changes at once, ticks, retracts a stopped member's metrics and ends with the
// last member; a new member starts it again.
func TestAllocationSchedulerLifecycle(t *testing.T) {
	var wg sync.WaitGroup
	var starts atomic.Int32
	sc := newAllocScheduler(5*time.Millisecond, time.Millisecond,
		func() bool { starts.Add(1); wg.Add(1); return true }, wg.Done)
	newSub := func(est *fakeEstimator, m *allocMetrics) *subscriberAllocation {
		return newSubscriberAllocation(subscriberAllocationParams{cfg: defaultAllocationConfig(), estimator: est,
			signal: func(*livekit.SignalResponse) {}, metrics: m, log: zerolog.Nop(), sched: sc})
	}
	metrics := registerAllocationMetrics(prometheus.NewRegistry(), "ND_test")
	estA := &safeEstimator{fakeEstimator: fakeEstimator{estimate: 5_000_000, mode: bwe.ModeTWCC}}
	estB := &safeEstimator{fakeEstimator: fakeEstimator{estimate: 5_000_000, mode: bwe.ModeTWCC}}
	a, b := newSub(&estA.fakeEstimator, metrics), newSub(&estB.fakeEstimator, metrics)
	a.est, b.est = estA, estB
	videoA, videoB := newFakeVideo(sfu.LayerHigh), newFakeVideo(sfu.LayerHigh)
	a.add(videoA, trackMeta{sid: "TR_a", video: true}) // queued before a is a member
	require.True(t, sc.add(a))
	require.True(t, sc.add(b))
	b.add(videoB, trackMeta{sid: "TR_b", video: true})
	require.Eventually(t, func() bool {
		return videoA.lastAllocation() == sfu.LayerHigh && videoB.lastAllocation() == sfu.LayerHigh
	}, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return estA.updateCount() > 3 && estB.updateCount() > 3 },
		5*time.Second, time.Millisecond, "both step on the shared tick")
	require.Equal(t, int32(1), starts.Load(), "one goroutine for both")
	require.Equal(t, float64(2), metricValue(t, metrics.subscribers.WithLabelValues("twcc")))

	a.stop()
	a.stop()
	require.Eventually(t, func() bool { return metricValue(t, metrics.subscribers.WithLabelValues("twcc")) == 1 },
		5*time.Second, time.Millisecond, "a's contribution retracted")
	before := estA.updateCount()
	time.Sleep(30 * time.Millisecond)
	require.Equal(t, before, estA.updateCount(), "a stopped member is not stepped")
	a.add(videoA, trackMeta{}) // after stop: ignored, no panic

	b.stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("scheduler goroutine did not end with its last member")
	}
	require.Zero(t, metricValue(t, metrics.estimate), "contributions retracted")
	require.Zero(t, metricValue(t, metrics.subscribers.WithLabelValues("twcc")))

	c := newSub(&fakeEstimator{estimate: 5_000_000, mode: bwe.ModeTWCC}, metrics)
	require.True(t, sc.add(c))
	require.Equal(t, int32(2), starts.Load(), "a new member starts the goroutine again")
	c.stop()
	wg.Wait()
}

// TestAllocationSchedulerPumpsProbes: a member's probe gets padding on the shared pump tick.
func TestAllocationSchedulerPumpsProbes(t *testing.T) {
	var wg sync.WaitGroup
	sc := newAllocScheduler(20*time.Millisecond, 2*time.Millisecond,
		func() bool { wg.Add(1); return true }, wg.Done)
	est := &safeEstimator{fakeEstimator: fakeEstimator{estimate: 600_000, mode: bwe.ModeTWCC, delivered: 540_000}}
	s := newSubscriberAllocation(subscriberAllocationParams{cfg: defaultAllocationConfig(), estimator: est,
		signal: func(*livekit.SignalResponse) {}, metrics: registerAllocationMetrics(prometheus.NewRegistry(), "ND_test"),
		log: zerolog.Nop(), sched: sc})
	video := newFakeVideo(sfu.LayerHigh)
	s.add(video, trackMeta{sid: "TR_v", video: true})
	require.True(t, sc.add(s))
	require.Eventually(t, func() bool { return est.probeCount() > 0 }, 5*time.Second, time.Millisecond)
	// The probe pumps at startProbe and then on the pump tick: more than one write.
	require.Eventually(t, func() bool { return video.paddingWrites() > 1 }, 5*time.Second, time.Millisecond)
	s.stop()
	wg.Wait()
}

// safeEstimator is a fakeEstimator safe to read from the test while a scheduler uses it.
type safeEstimator struct {
	mu sync.Mutex
	fakeEstimator
}

func (e *safeEstimator) Estimate() (uint64, bwe.Mode) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fakeEstimator.Estimate()
}
func (e *safeEstimator) Stats() bwe.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fakeEstimator.Stats()
}
func (e *safeEstimator) Update(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fakeEstimator.Update(now)
}
func (e *safeEstimator) StartProbe(now time.Time, target uint64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fakeEstimator.StartProbe(now, target)
}
func (e *safeEstimator) EndProbe(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fakeEstimator.EndProbe(now)
}
func (e *safeEstimator) ProbeWindowOpen() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fakeEstimator.ProbeWindowOpen()
}
func (e *safeEstimator) ProbeResult() (bwe.ProbeResult, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fakeEstimator.ProbeResult()
}
func (e *safeEstimator) updateCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.updates
}
func (e *safeEstimator) probeCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.probes)
}

func TestAllocTrackMeasures(t *testing.T) {
	video := newFakeVideo(sfu.LayerHigh)
	tr := &allocTrack{sink: video, meta: trackMeta{sid: "TR_v", declared: [sfu.NumLayers]uint64{0, 0, 2_000_000},
		pixels: [sfu.NumLayers]uint32{320 * 180, 640 * 360, 1280 * 720}}}
	now := time.Unix(0, 0)
	tr.measure(now)
	in := tr.input()
	require.Equal(t, [sfu.NumLayers]uint64{150_000, 500_000, 2_000_000}, in.Bitrates, "defaults, or what the publisher declared")
	require.Equal(t, uint32(1280*720), in.Pixels)
	for range 50 {
		now = now.Add(200 * time.Millisecond)
		video.advance(200 * time.Millisecond)
		tr.measure(now)
	}
	in = tr.input()
	// Measurements start from the declared 2M and converge on the 1.5M measured.
	require.InDelta(t, 1_500_000, float64(in.Bitrates[2]), 20_000, "measured beats declared")
	// The high layer stops (nobody needs it): its last rate is remembered.
	video.rates[2] = 0
	for range 10 {
		now = now.Add(200 * time.Millisecond)
		video.advance(200 * time.Millisecond)
		tr.measure(now)
	}
	require.InDelta(t, 1_500_000, float64(tr.input().Bitrates[2]), 20_000)
	// A layer the publisher announced counts before it arrives (it may only be sent once asked
	// for); one neither attached nor announced offers no bitrate.
	video.st.Layers = sfu.LayerBit(0)
	tr.meta.layers = sfu.LayerBit(1)
	tr.measure(now.Add(500 * time.Millisecond))
	require.Equal(t, [sfu.NumLayers]uint64{150_000, 500_000, 0}, tr.input().Bitrates)
	video.st.Layers = sfu.LayerBit(0) | sfu.LayerBit(1)
	video.st.SubscriberMaxLayer = sfu.LayerMid
	tr.measure(now.Add(time.Second))
	in = tr.input()
	require.Zero(t, in.Bitrates[2])
	require.Equal(t, uint32(640*360), in.Pixels)
}

func TestTrackMetaFrom(t *testing.T) {
	m := trackMetaFrom(&livekit.TrackInfo{
		Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_SCREEN_SHARE, Width: 1920, Height: 1080,
		Layers: []*livekit.VideoLayer{
			{Quality: livekit.VideoQuality_LOW, Width: 480, Height: 270, Bitrate: 200_000},
			{Quality: livekit.VideoQuality_HIGH, Width: 1920, Height: 1080, Bitrate: 2_500_000},
		},
	})
	require.True(t, m.video)
	require.Equal(t, allocator.SourceScreen, m.source)
	require.Equal(t, sfu.LayerBit(0)|sfu.LayerBit(2), m.layers)
	require.Equal(t, [sfu.NumLayers]uint32{480 * 270, 0, 1920 * 1080}, m.pixels)
	require.Equal(t, [sfu.NumLayers]uint64{200_000, 0, 2_500_000}, m.declared)
	require.Equal(t, uint32(1920*1080), m.pixelsAny)
}

// TestWireOverheadAgrees: the down-tracks' layer rates and the estimator's rates must be counted
// in the same unit, or the allocator compares apples with pears.
func TestWireOverheadAgrees(t *testing.T) {
	require.Equal(t, sfu.WireOverhead, bwe.PacketOverhead)
}

func TestAllocTrackAudioRate(t *testing.T) {
	audio := newFakeAudio()
	tr := &allocTrack{sink: audio, meta: trackMeta{sid: "TR_a"}}
	now := time.Unix(0, 0)
	tr.measure(now)
	now = now.Add(200 * time.Millisecond)
	audio.advance(200 * time.Millisecond)
	tr.measure(now)
	require.InDelta(t, 40_000, tr.fixedRate(), 1_000, "audio is measured from its first sample, never seeded")
	audio.st.UserPaused = true
	tr.measure(now.Add(200 * time.Millisecond))
	require.Zero(t, tr.fixedRate(), "a paused audio track sends nothing")
}

// TestAllocationSlowProbePads: a probe only a little above the current rate still sends whole
// padding packets (owed bytes accumulate past one packet), on a paused video track too.
func TestAllocationSlowProbePads(t *testing.T) {
	est := &fakeEstimator{estimate: 61_000, mode: bwe.ModeTWCC}
	h := newAllocHarness(t, est)
	video := newFakeVideo(sfu.LayerHigh)
	video.st.AllocatorPaused = true
	h.add(video, "TR_v", allocator.SourceCamera)
	h.s.applyPending()
	start := h.now
	est.probes = append(est.probes, 95_000) // the window the estimator has open
	h.s.probe = probePump{running: true, end: start.Add(h.s.cfg.ProbeWindow), rate: 34_000, last: start}
	for at := start; at.Before(start.Add(h.s.cfg.ProbeWindow)); at = at.Add(h.s.cfg.PumpInterval) {
		h.s.pumpPadding(at)
	}
	expected := 34_000.0 / 8 * h.s.cfg.ProbeWindow.Seconds()
	require.InDelta(t, expected, float64(video.padded), 2*sfu.PaddingPacketWire)
}

// TestAllocationPumpStopsWhenWindowCloses: the estimator may close a probe window early (the
// probe filled a queue); the padding stops with it.
func TestAllocationPumpStopsWhenWindowCloses(t *testing.T) {
	est := &fakeEstimator{estimate: 600_000, mode: bwe.ModeTWCC, delivered: 540_000}
	h := newAllocHarness(t, est)
	video := newFakeVideo(sfu.LayerHigh)
	h.add(video, "TR_v", allocator.SourceCamera)
	h.run(h.s.cfg.Tick, video)
	require.True(t, h.s.probe.running)
	h.s.pumpPadding(h.now.Add(50 * time.Millisecond))
	padded := video.padded
	require.Positive(t, padded)
	est.closed = true
	h.s.pumpPadding(h.now.Add(100 * time.Millisecond))
	require.False(t, h.s.probe.running)
	require.Equal(t, padded, video.padded, "no padding after the window closed")
}
