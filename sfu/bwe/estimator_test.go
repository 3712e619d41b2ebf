package bwe

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// feeder drives an Estimator by hand: packets sent at chosen times, arrivals
// recorded with pion's TWCC recorder, feedback delivered when asked.
type feeder struct {
	t   *testing.T
	e   *Estimator
	rec *twcc.Recorder
	seq uint16
}

func newFeeder(t *testing.T, cfg Config) *feeder {
	return &feeder{t: t, e: New(cfg), rec: twcc.NewRecorder(1)}
}

func (f *feeder) at(us int64) time.Time { return f.e.epoch.Add(time.Duration(us) * time.Microsecond) }

// send records a packet sent at sendUS; if arrivalUS >= 0 the receiver got it then.
func (f *feeder) send(size int, sendUS, arrivalUS int64) {
	f.seq++
	f.e.OnPacketSent(f.seq, size, f.at(sendUS))
	if arrivalUS >= 0 {
		f.rec.Record(2, f.seq, arrivalUS)
	}
}

// flush delivers the pending feedback at nowUS.
func (f *feeder) flush(nowUS int64) {
	for _, p := range f.rec.BuildFeedbackPacket() {
		if fb, ok := p.(*rtcp.TransportLayerCC); ok {
			require.NoError(f.t, f.e.OnTransportCC(fb, f.at(nowUS)))
		}
	}
}

// steady sends size-byte packets every gapUS over [fromUS, toUS) with one-way
// delay delayUS(t), losing those for which lose(i) is true, flushing
// feedback every 100 ms.
func (f *feeder) steady(size int, gapUS, fromUS, toUS int64, delayUS func(int64) int64, lose func(int) bool) {
	next := fromUS + 100_000
	for i, t := 0, fromUS; t < toUS; i, t = i+1, t+gapUS {
		arr := t + delayUS(t)
		if lose != nil && lose(i) {
			arr = -1
		}
		f.send(size, t, arr)
		if t >= next {
			f.flush(t + 20_000)
			next += 100_000
		}
	}
	f.flush(toUS + 20_000)
}

func constDelay(d int64) func(int64) int64 { return func(int64) int64 { return d } }

func TestEstimatorModes(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 800_000})
	est, mode := f.e.Estimate()
	require.Equal(t, ModeNone, mode)
	require.Equal(t, uint64(800_000), est)

	f.e.OnREMB(300_000, f.at(0))
	est, mode = f.e.Estimate()
	require.Equal(t, ModeREMB, mode, "REMB drives the estimate without TWCC")
	require.Equal(t, uint64(300_000), est)
	require.ErrorIs(t, f.e.StartProbe(f.at(0), 1_000_000), ErrProbeUnsupported)

	f.steady(1000, 10_000, 0, 500_000, constDelay(20_000), nil) // 800 kbit/s, no queue
	_, mode = f.e.Estimate()
	require.Equal(t, ModeTWCC, mode)
	f.e.OnREMB(100_000, f.at(600_000))
	est, mode = f.e.Estimate()
	require.Equal(t, ModeTWCC, mode, "fresh TWCC wins over REMB")
	require.Greater(t, est, uint64(100_000))
}

func TestEstimatorClamps(t *testing.T) {
	f := newFeeder(t, Config{MinBitrate: 200_000, MaxBitrate: 400_000, InitialBitrate: 1_000_000})
	est, _ := f.e.Estimate()
	require.Equal(t, uint64(400_000), est, "initial clamped to max")
	f.e.OnREMB(10, f.at(0))
	est, _ = f.e.Estimate()
	require.Equal(t, uint64(200_000), est, "REMB clamped to min")
}

func TestEstimatorCongestion(t *testing.T) {
	tests := []struct {
		name  string
		delay func(int64) int64
		lose  func(int) bool
		// wantDecrease: the estimate falls to about 85 % of the delivered rate.
		wantDecrease bool
	}{
		{"clean link", constDelay(20_000), nil, false},
		{"jitter without a standing queue", func(t int64) int64 { return 20_000 + (t/1000%7)*6_000 }, nil, false},
		{"growing queue", func(t int64) int64 { return 20_000 + t/10 }, nil, true},
		{"standing queue", func(t int64) int64 { return 20_000 + min(t/5, 80_000) }, nil, true},
		{"draining queue", func(t int64) int64 { return 20_000 + max(200_000-t/2, 0) }, nil, false},
		{"5 % loss", constDelay(20_000), func(i int) bool { return i%20 == 0 }, false},
		{"20 % loss", constDelay(20_000), func(i int) bool { return i%5 == 0 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(t, Config{InitialBitrate: 2_000_000})
			// 1 Mbit/s for 1 s; the delay pattern starts after 100 ms of clean link
			// so that the baseline knows the empty-queue delay.
			f.steady(1250, 10_000, 0, 100_000, constDelay(20_000), nil)
			f.steady(1250, 10_000, 100_000, 1_000_000, func(t int64) int64 { return tc.delay(t - 100_000) }, tc.lose)
			est, _ := f.e.Estimate()
			st := f.e.Stats()
			if tc.wantDecrease {
				require.Less(t, est, uint64(1_000_000), "estimate did not fall (%+v)", st)
				require.NotZero(t, st.Capacity)
			} else {
				require.GreaterOrEqual(t, est, uint64(1_000_000), "estimate fell without congestion (%+v)", st)
			}
		})
	}
}

func TestEstimatorFeedbackTimeout(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 1_000_000})
	f.steady(1250, 10_000, 0, 500_000, constDelay(20_000), nil)
	before, _ := f.e.Estimate()
	f.e.Update(f.at(1_000_000))
	est, _ := f.e.Estimate()
	require.Equal(t, before, est, "no timeout yet")
	f.send(1250, 2_000_000, -1) // still sending, no feedback for 2.5 s
	f.e.Update(f.at(3_000_000))
	est, _ = f.e.Estimate()
	require.Equal(t, before/2, est, "feedback stopped while sending: halve")
	f.e.Update(f.at(3_100_000))
	est2, _ := f.e.Estimate()
	require.Equal(t, est, est2, "halved at most once per timeout")
}

func TestEstimatorProbe(t *testing.T) {
	tests := []struct {
		name string
		// recvGapUS is the spacing of arrivals for packets sent every 1 ms
		// (1250 bytes: 10 Mbit/s sent); 0 loses nothing and keeps the spacing.
		recvGapUS     int64
		packets       int
		wantSuccess   bool
		wantCongested bool
		wantEstimate  func(uint64) bool
	}{
		{"link carries it", 1_000, 200, true, false, func(e uint64) bool { return e >= 9_000_000 }},
		{"bottleneck at 5 Mbit/s", 2_000, 200, false, true, func(e uint64) bool { return e > 4_500_000 && e < 5_000_000 }},
		{"too few packets to tell", 1_000, 5, false, false, func(e uint64) bool { return e == 1_000_000 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(t, Config{InitialBitrate: 1_000_000})
			f.send(1250, 0, 20_000)
			f.flush(30_000)
			require.NoError(t, f.e.StartProbe(f.at(100_000), 10_000_000))
			require.ErrorIs(t, f.e.StartProbe(f.at(100_000), 10_000_000), ErrProbeActive)
			for i := range tc.packets {
				s := int64(100_000 + i*1000)
				f.send(1250, s, 120_000+int64(i)*tc.recvGapUS)
			}
			f.e.EndProbe(f.at(int64(100_000 + tc.packets*1000)))
			_, ok := f.e.ProbeResult()
			require.False(t, ok, "no result before feedback")
			f.send(1250, int64(100_000+tc.packets*1000+1000), 1_000_000) // a packet after the window
			f.flush(1_100_000)
			f.e.Update(f.at(2_000_000))
			r, ok := f.e.ProbeResult()
			require.True(t, ok, "probe result")
			require.Equal(t, tc.wantSuccess, r.Success, "%v", r)
			require.Equal(t, tc.wantCongested, r.Congested, "%v", r)
			est, _ := f.e.Estimate()
			require.True(t, tc.wantEstimate(est), "estimate %d after %v", est, r)
			require.Equal(t, est, r.Estimate)
			_, ok = f.e.ProbeResult()
			require.False(t, ok, "a result is returned once")
		})
	}
}

func TestEstimatorProbeTimeout(t *testing.T) {
	f := newFeeder(t, Config{})
	f.send(1250, 0, 20_000)
	f.flush(30_000)
	require.NoError(t, f.e.StartProbe(f.at(100_000), 5_000_000))
	f.e.EndProbe(f.at(350_000))
	f.e.Update(f.at(1_000_000))
	_, ok := f.e.ProbeResult()
	require.False(t, ok, "still waiting for feedback")
	f.e.Update(f.at(2_000_000))
	r, ok := f.e.ProbeResult()
	require.True(t, ok, "gave up waiting")
	require.False(t, r.Success)
	require.NoError(t, f.e.StartProbe(f.at(2_000_000), 5_000_000), "a new probe may start")
}

// TestEstimatorCongestedProbeKeepsDelivered: a probe that hits the
// bottleneck sets the estimate just below the capacity it measured, but not
// below what was delivered before the probe if the capacity carries that.
func TestEstimatorCongestedProbeKeepsDelivered(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 2_000_000})
	// 1 s of ~1 Mbit/s (wire) delivered cleanly.
	f.steady(1250-PacketOverhead, 10_000, 0, 1_000_000, constDelay(20_000), nil)
	before, _ := f.e.Estimate()
	delivered := f.e.Stats().Delivered
	require.InDelta(t, 1_000_000, float64(delivered), 50_000)
	require.Greater(t, before, delivered)

	// The probe sends 10 Mbit/s; the second half arrives at 1.02 Mbit/s: the
	// capacity carries the 1 Mbit/s delivered before.
	require.NoError(t, f.e.StartProbe(f.at(1_000_000), 10_000_000))
	arr := int64(1_020_000)
	for i := range 200 {
		s := int64(1_000_000 + i*1000)
		if i >= 100 {
			arr += 9_800 // 1250 bytes per 9.8 ms: 1.02 Mbit/s
		} else {
			arr += 1000
		}
		f.send(1250-PacketOverhead, s, arr)
	}
	f.e.EndProbe(f.at(1_200_000))
	f.send(1250-PacketOverhead, 1_201_000, arr+1000)
	f.flush(arr + 20_000)
	r, ok := f.e.ProbeResult()
	require.True(t, ok)
	require.True(t, r.Congested, "%v", r)
	require.InDelta(t, 1_020_000, float64(r.ReceiveRate), 20_000, "capacity from the later half")
	require.InDelta(t, float64(delivered), float64(r.Estimate), 1, "kept at the delivered rate, not 0.95 × capacity")
}

// TestEstimatorProbeBelowGuess: with the estimate still the initial guess,
// a probe that carries more than was delivered, but less than the guess,
// counts: the measured rate replaces the guess and is verified.
func TestEstimatorProbeBelowGuess(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 2_000_000})
	// 0.5 s of ~500 kbit/s (wire) delivered cleanly.
	f.steady(1250-PacketOverhead, 20_000, 0, 500_000, constDelay(20_000), nil)
	require.False(t, f.e.Stats().Verified)
	delivered := f.e.Stats().Delivered
	require.InDelta(t, 500_000, float64(delivered), 50_000)

	// The probe sends 1 Mbit/s for 400 ms, all of it arriving at that rate.
	r := f.cleanProbe(500_000, 1_000_000, 10_000, 40)
	require.True(t, r.Success, "%v", r)
	require.InDelta(t, 1_000_000, float64(r.Estimate), 50_000, "the measured rate replaces the 2 Mbit/s guess")
	require.True(t, f.e.Stats().Verified)

	// A second probe, now from a verified estimate, below it: not a success.
	r = f.cleanProbe(1_500_000, 800_000, 12_500, 40)
	require.False(t, r.Success, "%v", r)
}

// cleanProbe runs a probe window from fromUS towards target: n packets of 1250 bytes on the
// wire every gapUS, each arriving 20 ms after it was sent, then one packet after the window and
// the feedback. It returns the probe's result.
func (f *feeder) cleanProbe(fromUS int64, target uint64, gapUS int64, n int) ProbeResult {
	f.t.Helper()
	require.NoError(f.t, f.e.StartProbe(f.at(fromUS), target))
	end := fromUS + int64(n)*gapUS
	for i := range n {
		s := fromUS + int64(i)*gapUS
		f.send(1250-PacketOverhead, s, s+20_000)
	}
	f.e.EndProbe(f.at(end))
	f.send(1250-PacketOverhead, end+1_000, end+21_000)
	f.flush(end + 50_000)
	r, ok := f.e.ProbeResult()
	require.True(f.t, ok, "probe result")
	return r
}

func TestEstimatorVerified(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 1_000_000})
	f.steady(1000, 10_000, 0, 1_000_000, constDelay(20_000), nil)
	require.False(t, f.e.Stats().Verified, "the initial bitrate is a guess")
	// Congestion measures the link.
	f.steady(1000, 10_000, 1_000_000, 2_000_000, func(t int64) int64 { return 20_000 + (t-1_000_000)/5 }, nil)
	require.True(t, f.e.Stats().Verified)
}

// TestEstimatorProbeAbort: a probe whose packets queue is closed early, and
// judged congested.
func TestEstimatorProbeAbort(t *testing.T) {
	f := newFeeder(t, Config{InitialBitrate: 1_000_000})
	f.steady(1250, 10_000, 0, 500_000, constDelay(20_000), nil) // baseline: 20 ms
	require.NoError(t, f.e.StartProbe(f.at(500_000), 5_000_000))
	require.True(t, f.e.ProbeWindowOpen())
	// Probe packets every ms, each queued 1 ms longer than the one before.
	for i := range 100 {
		s := int64(500_000 + i*1000)
		f.send(1250, s, s+20_000+int64(i)*1000)
		if i == 50 {
			f.flush(s + 30_000) // the report shows ~50 ms of queue: still open
			require.True(t, f.e.ProbeWindowOpen())
		}
	}
	f.flush(620_000 + 100_000) // now ~100 ms of queue
	require.False(t, f.e.ProbeWindowOpen(), "closed early")
	f.send(1250, 730_000, 760_000)
	f.flush(770_000)
	r, ok := f.e.ProbeResult()
	require.True(t, ok)
	require.True(t, r.Aborted)
	require.True(t, r.Congested, "%v", r)
}
