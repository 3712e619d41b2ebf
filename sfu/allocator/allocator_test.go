package allocator

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The acceptance test's camera: ~150k / 500k / 1.5M.
var camRates = [NumLayers]uint64{150_000, 500_000, 1_500_000}

const (
	px720 = 1280 * 720
	px360 = 640 * 360
	px180 = 320 * 180
)

func cam(id string, maxLayer int32, pixels uint32) Track {
	return Track{ID: id, Source: SourceCamera, Pixels: pixels, MaxLayer: maxLayer, Bitrates: camRates}
}

func screen(id string, maxLayer int32) Track {
	return Track{ID: id, Source: SourceScreen, Pixels: px720, MaxLayer: maxLayer,
		Bitrates: [NumLayers]uint64{200_000, 600_000, 2_000_000}}
}

var t0 = time.Unix(1_000_000, 0)

func layersOf(r Result) map[string]int32 {
	out := map[string]int32{}
	for _, d := range r.Decisions {
		out[d.ID] = d.Layer
	}
	return out
}

func TestAllocateOnce(t *testing.T) {
	tests := []struct {
		name  string
		in    Input
		want  map[string]int32
		probe bool // a probe is asked for
	}{
		{
			name: "no estimate yet: what the subscriber asked for",
			in:   Input{Unconstrained: true, Tracks: []Track{cam("a", 2, px720), cam("b", 1, px360), cam("c", 0, px180)}},
			want: map[string]int32{"a": 2, "b": 1, "c": 0},
		},
		{
			name: "everything fits",
			in:   Input{Estimate: 10_000_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720), cam("b", 2, px720)}},
			want: map[string]int32{"a": 2, "b": 2},
		},
		{
			name: "subscriber cap limits even with bandwidth to spare",
			in:   Input{Estimate: 10_000_000, CanProbe: true, Tracks: []Track{cam("a", 1, px360), cam("b", 0, px180)}},
			want: map[string]int32{"a": 1, "b": 0},
		},
		{
			name: "700 kbit/s, one camera and audio: middle layer",
			in:   Input{Estimate: 650_000, Fixed: 40_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720)}},
			want: map[string]int32{"a": 1}, probe: true,
		},
		{
			name: "lowest layer does not fit: paused, probe for it",
			in:   Input{Estimate: 150_000, Fixed: 40_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720)}},
			want: map[string]int32{"a": Paused}, probe: true,
		},
		{
			name: "no probing without TWCC",
			in:   Input{Estimate: 150_000, Fixed: 40_000, Tracks: []Track{cam("a", 2, px720)}},
			want: map[string]int32{"a": Paused},
		},
		{
			name: "fixed rate above the estimate: everything paused",
			in:   Input{Estimate: 30_000, Fixed: 40_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720)}},
			want: map[string]int32{"a": Paused}, probe: true,
		},
		{
			name: "screen share before camera",
			in: Input{Estimate: 2_200_000, CanProbe: true,
				Tracks: []Track{cam("cam", 2, px720), screen("screen", 2)}},
			want: map[string]int32{"screen": 2, "cam": 0}, probe: true,
		},
		{
			name: "only one lowest layer fits: the screen share keeps it",
			in: Input{Estimate: 250_000, CanProbe: true,
				Tracks: []Track{cam("cam", 2, px720), screen("screen", 2)}},
			want: map[string]int32{"screen": 0, "cam": Paused}, probe: true,
		},
		{
			name: "a cheaper lower-priority track still fits",
			in: Input{Estimate: 160_000, CanProbe: true,
				Tracks: []Track{cam("cam", 2, px720), screen("screen", 2)}},
			want: map[string]int32{"screen": Paused, "cam": 0}, probe: true,
		},
		{
			name: "larger requested size before smaller",
			in: Input{Estimate: 150_000*2 + 350_000, CanProbe: true,
				Tracks: []Track{cam("small", 2, px180), cam("big", 2, px720)}},
			want: map[string]int32{"big": 1, "small": 0}, probe: true,
		},
		{
			name: "equal tracks share: one step each before anyone's second",
			in: Input{Estimate: 3 * 500_000, CanProbe: true,
				Tracks: []Track{cam("a", 2, px720), cam("b", 2, px720), cam("c", 2, px720)}},
			want: map[string]int32{"a": 1, "b": 1, "c": 1}, probe: true,
		},
		{
			name: "equal tracks, budget for two upgrades: ID order breaks the tie",
			in: Input{Estimate: 150_000 + 2*500_000, CanProbe: true,
				Tracks: []Track{cam("c", 2, px720), cam("b", 2, px720), cam("a", 2, px720)}},
			want: map[string]int32{"a": 1, "b": 1, "c": 0}, probe: true,
		},
		{
			name: "missing middle layer: straight from low to high",
			in: Input{Estimate: 2_000_000, CanProbe: true, Tracks: []Track{
				{ID: "a", MaxLayer: 2, Bitrates: [NumLayers]uint64{150_000, 0, 1_500_000}}}},
			want: map[string]int32{"a": 2},
		},
		{
			name: "single-layer track",
			in: Input{Estimate: 2_000_000, CanProbe: true, Tracks: []Track{
				{ID: "a", MaxLayer: 2, Bitrates: [NumLayers]uint64{300_000}}}},
			want: map[string]int32{"a": 0},
		},
		{
			name: "cap below the lowest layer the track has: its lowest",
			in: Input{Estimate: 2_000_000, CanProbe: true, Tracks: []Track{
				{ID: "a", MaxLayer: 0, Bitrates: [NumLayers]uint64{0, 500_000, 1_500_000}}}},
			want: map[string]int32{"a": 1},
		},
		{
			name: "track without layers stays paused, no probe",
			in:   Input{Estimate: 2_000_000, CanProbe: true, Tracks: []Track{{ID: "a", MaxLayer: 2}}},
			want: map[string]int32{"a": Paused},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No upgrade headroom: these cases are about sharing the budget
			// (TestUpgradeHeadroom covers the headroom).
			a := New(Config{UpgradeHeadroom: 1})
			tc.in.Verified = true // probes are sized from the estimate
			r := a.Allocate(t0, tc.in, nil)
			require.Equal(t, tc.want, layersOf(r))
			require.Equal(t, tc.probe, r.Probe > 0, "probe %d", r.Probe)
			if !tc.in.Unconstrained {
				budget := uint64(0)
				if tc.in.Estimate > tc.in.Fixed {
					budget = tc.in.Estimate - tc.in.Fixed
				}
				require.LessOrEqual(t, r.Allocated, budget, "allocation exceeds the estimate")
			}
			paused := 0
			for i, d := range r.Decisions {
				require.Equal(t, tc.in.Tracks[i].ID, d.ID, "decisions keep the input order")
				require.True(t, d.Changed, "first decision of a track is a change")
				if d.Layer == Paused {
					paused++
					require.Zero(t, d.Bitrate)
				} else {
					require.Equal(t, tc.in.Tracks[i].Bitrates[d.Layer], d.Bitrate)
				}
				require.Equal(t, d.Layer < wanted(&tc.in.Tracks[i]), d.Limited)
			}
			require.Equal(t, paused, r.Paused)
		})
	}
}

func TestProbeTarget(t *testing.T) {
	tests := []struct {
		name      string
		estimate  uint64
		delivered uint64
		verified  bool
		want      uint64
	}{
		// One camera capped at high, audio 40k: the goal is 40k + 1.5M.
		{"far below the goal: 1.5 times the estimate", 600_000, 550_000, true, 900_000},
		{"delivered above the estimate counts", 600_000, 800_000, true, 1_200_000},
		{"unverified estimate: 1.5 times what is delivered", 600_000, 550_000, false, 825_000},
		// The goal includes the 5 % upgrade headroom.
		{"close to the goal: just above it", 1_400_000, 550_000, true, 1_702_105}, // 1.54M / 0.95 × 1.05
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Config{})
			r := a.Allocate(t0, Input{Estimate: tc.estimate, Delivered: tc.delivered, Verified: tc.verified, Fixed: 40_000, CanProbe: true,
				Tracks: []Track{cam("a", 2, px720)}}, nil)
			require.Equal(t, int32(1), r.Decisions[0].Layer)
			require.InDelta(t, float64(tc.want), float64(r.Probe), 1)
		})
	}
}

// TestProbeRamp: a probe right after a successful one may go twice as far
// above what is known to work; after a failed or inconclusive one the step is
// 1.5 times again.
func TestProbeRamp(t *testing.T) {
	a := New(Config{})
	in := func(est uint64) Input {
		return Input{Estimate: est, Delivered: est, Verified: true, Fixed: 40_000, CanProbe: true,
			Tracks: []Track{cam("a", 2, px720)}}
	}
	now := t0
	next := func(est uint64, outcome ProbeOutcome) uint64 {
		t.Helper()
		now = now.Add(10 * time.Second)
		r := a.Allocate(now, in(est), nil)
		require.NotZero(t, r.Probe)
		a.ProbeStarted(now)
		a.ProbeDone(now.Add(500*time.Millisecond), outcome)
		return r.Probe
	}
	require.Equal(t, uint64(900_000), next(600_000, ProbeRaised), "first probe: 1.5 ×")
	require.Equal(t, uint64(1_200_000), next(600_000, ProbeCongested), "after a raise: 2 ×")
	require.Equal(t, uint64(900_000), next(600_000, ProbeRaised), "after congestion: 1.5 × again")
	require.Equal(t, uint64(1_200_000), next(600_000, ProbeInconclusive), "after a raise: 2 ×")
	require.Equal(t, uint64(900_000), next(600_000, ProbeRaised), "after an inconclusive probe: 1.5 ×")
	require.InDelta(t, 1_702_105, float64(next(1_000_000, ProbeRaised)), 1, "the ramp still stops just above the goal")
}

// TestUpgradeHeadroom: going up needs 5 % of the estimate to spare; staying
// needs only the estimate.
func TestUpgradeHeadroom(t *testing.T) {
	tracks := []Track{cam("a", 2, px720)}
	in := func(est uint64) Input {
		return Input{Estimate: est, Verified: true, Fixed: 40_000, CanProbe: true, Tracks: tracks}
	}
	a := New(Config{})
	// Middle layer + audio = 540k: 560k is not 5 % above it.
	r := a.Allocate(t0, in(560_000), nil)
	require.Equal(t, int32(0), r.Decisions[0].Layer)
	require.InDelta(t, 540_000/0.95*1.05, float64(r.Probe), 1, "probe for the middle layer with headroom")
	r = a.Allocate(t0.Add(time.Second), in(570_000), nil)
	require.Equal(t, int32(1), r.Decisions[0].Layer, "540k fits in 95 %% of 570k")
	r = a.Allocate(t0.Add(2*time.Second), in(545_000), nil)
	require.Equal(t, int32(1), r.Decisions[0].Layer, "staying needs no headroom")
	r = a.Allocate(t0.Add(3*time.Second), in(535_000), nil)
	require.Equal(t, int32(0), r.Decisions[0].Layer, "above the estimate: down")
	require.LessOrEqual(t, r.Allocated+40_000, uint64(535_000))
}

// step is one allocation of a scripted sequence.
type step struct {
	at       time.Duration // since t0
	estimate uint64
	want     int32 // layer of track "a"
	changed  bool
}

func runSteps(t *testing.T, a *Allocator, tracks []Track, steps []step) {
	t.Helper()
	for i, s := range steps {
		r := a.Allocate(t0.Add(s.at), Input{Estimate: s.estimate, CanProbe: true, Tracks: tracks}, nil)
		require.Equal(t, s.want, r.Decisions[0].Layer, "step %d at %v (estimate %d)", i, s.at, s.estimate)
		require.Equal(t, s.changed, r.Decisions[0].Changed, "step %d at %v: changed", i, s.at)
	}
}

func TestHysteresis(t *testing.T) {
	tracks := []Track{cam("a", 2, px720)}
	runSteps(t, New(Config{}), tracks, []step{
		{0, 2_000_000, 2, true},
		{time.Second, 1_000_000, 1, true},      // down at once
		{2 * time.Second, 2_000_000, 1, false}, // held: 3 s after the downgrade
		{4 * time.Second, 2_000_000, 2, true},  // hold over
		{5 * time.Second, 400_000, 0, true},    // down again within the flap window: hold 6 s
		{9 * time.Second, 2_000_000, 0, false},
		{10900 * time.Millisecond, 2_000_000, 0, false},
		{11 * time.Second, 2_000_000, 2, true}, // straight back up: the hold, not the budget, held it
		{12 * time.Second, 100_000, Paused, true},
		{13 * time.Second, 160_000, Paused, false}, // resume waits for the hold (12 s after the previous down)
		{24 * time.Second, 160_000, 0, true},
		// 60 s later the flap window has passed: the hold is back to 3 s.
		{84 * time.Second, 100_000, Paused, true},
		{87 * time.Second, 2_000_000, 2, true},
	})
}

// TestNoFlapping: an estimate oscillating around the middle layer's need
// every 500 ms for a minute changes the layer only a few times.
func TestNoFlapping(t *testing.T) {
	a := New(Config{})
	tracks := []Track{cam("a", 2, px720)}
	changes := 0
	for i := range 120 {
		est := uint64(520_000)
		if i%2 == 1 {
			est = 480_000
		}
		r := a.Allocate(t0.Add(time.Duration(i)*500*time.Millisecond), Input{Estimate: est, CanProbe: true, Tracks: tracks}, nil)
		require.LessOrEqual(t, r.Allocated, est, "step %d exceeds the estimate", i)
		if r.Decisions[0].Changed {
			changes++
		}
	}
	// Down at once every time it must be; up only after holds of 3, 6, 12, 24, 30 s.
	require.LessOrEqual(t, changes, 10, "layer changes in 60 s")
}

func TestProbeSchedule(t *testing.T) {
	a := New(Config{})
	in := Input{Estimate: 600_000, Verified: true, Fixed: 40_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720)}}
	at := func(d time.Duration) uint64 { return a.Allocate(t0.Add(d), in, nil).Probe }

	require.NotZero(t, at(0), "limited by bandwidth: probe")
	a.ProbeStarted(t0)
	require.True(t, a.Probing())
	require.Zero(t, at(100*time.Millisecond), "no second probe while one runs")
	a.ProbeDone(t0.Add(500*time.Millisecond), ProbeCongested)
	require.Zero(t, at(1400*time.Millisecond), "backoff 1 s after a failure")
	require.NotZero(t, at(1500*time.Millisecond))
	a.ProbeStarted(t0.Add(1500 * time.Millisecond))
	a.ProbeDone(t0.Add(2*time.Second), ProbeCongested)
	require.Zero(t, at(3900*time.Millisecond), "backoff doubled to 2 s")
	require.NotZero(t, at(4*time.Second))
	for i := range 5 { // keeps failing: the backoff stops growing at 3 s
		start := t0.Add(time.Duration(10+10*i) * time.Second)
		a.ProbeStarted(start)
		a.ProbeDone(start, ProbeCongested)
	}
	done := t0.Add(50 * time.Second)
	require.Zero(t, a.Allocate(done.Add(2900*time.Millisecond), in, nil).Probe)
	require.NotZero(t, a.Allocate(done.Add(3*time.Second), in, nil).Probe, "backoff capped at 3 s")
	a.ProbeStarted(done.Add(5 * time.Second))
	a.ProbeDone(done.Add(6*time.Second), ProbeRaised)
	require.Zero(t, a.Allocate(done.Add(6400*time.Millisecond), in, nil).Probe)
	require.NotZero(t, a.Allocate(done.Add(6500*time.Millisecond), in, nil).Probe, "500 ms after a success")
	a.ProbeStarted(done.Add(6500 * time.Millisecond))
	a.ProbeDone(done.Add(7*time.Second), ProbeCongested)
	require.NotZero(t, a.Allocate(done.Add(8*time.Second), in, nil).Probe, "a success reset the backoff to 1 s")
	a.ProbeStarted(done.Add(8 * time.Second))
	a.ProbeDone(done.Add(8*time.Second), ProbeInconclusive)
	require.Zero(t, a.Allocate(done.Add(9900*time.Millisecond), in, nil).Probe)
	require.NotZero(t, a.Allocate(done.Add(10*time.Second), in, nil).Probe, "inconclusive: retried after the same 2 s")
	a.ProbeStarted(done.Add(10 * time.Second))
	a.ProbeDone(done.Add(10*time.Second), ProbeInconclusive)
	require.NotZero(t, a.Allocate(done.Add(12*time.Second), in, nil).Probe, "...without doubling it")

	// Held back by hysteresis only: nothing to probe for.
	b := New(Config{})
	tr := []Track{cam("a", 2, px720)}
	b.Allocate(t0, Input{Estimate: 2_000_000, CanProbe: true, Tracks: tr}, nil)
	b.Allocate(t0.Add(time.Second), Input{Estimate: 1_000_000, CanProbe: true, Tracks: tr}, nil)
	r := b.Allocate(t0.Add(2*time.Second), Input{Estimate: 2_000_000, CanProbe: true, Tracks: tr}, nil)
	require.Equal(t, int32(1), r.Decisions[0].Layer)
	require.Zero(t, r.Probe, "the upgrade fits; only the hold delays it")
}

func TestForgetsRemovedTracks(t *testing.T) {
	a := New(Config{})
	in := Input{Estimate: 10_000_000, CanProbe: true, Tracks: []Track{cam("a", 2, px720), cam("b", 2, px720)}}
	r := a.Allocate(t0, in, nil)
	require.True(t, r.Decisions[1].Changed)
	r = a.Allocate(t0.Add(time.Second), in, nil)
	require.False(t, r.Decisions[1].Changed)
	in.Tracks = in.Tracks[:1]
	a.Allocate(t0.Add(2*time.Second), in, nil)
	require.Len(t, a.tracks, 1, "state of removed track b dropped")
	in.Tracks = append(in.Tracks, cam("b", 2, px720))
	r = a.Allocate(t0.Add(3*time.Second), in, nil)
	require.True(t, r.Decisions[1].Changed, "b is new again")
}

func twentyTracks() []Track {
	tracks := make([]Track, 20)
	for i := range tracks {
		tracks[i] = cam(fmt.Sprintf("TR_%02d", i), int32(i%3), []uint32{px720, px360, px180}[i%3])
	}
	tracks[0].Source = SourceScreen
	return tracks
}

func TestAllocateDoesNotAllocate(t *testing.T) {
	a := New(Config{})
	in := Input{Estimate: 5_000_000, Fixed: 40_000, CanProbe: true, Tracks: twentyTracks()}
	out := make([]Decision, 0, 20)
	a.Allocate(t0, in, out)
	now := t0
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(200 * time.Millisecond)
		out = a.Allocate(now, in, out).Decisions
	})
	require.Zero(t, allocs)
}

// BenchmarkAllocate20 is one allocation of a subscriber with 20 video tracks
// (one screen share, cameras with mixed caps) whose estimate varies, so
// upgrades, downgrades and holds all happen.
func BenchmarkAllocate20(b *testing.B) {
	a := New(Config{})
	tracks := twentyTracks()
	out := make([]Decision, 0, len(tracks))
	estimates := []uint64{12_000_000, 6_000_000, 3_000_000, 9_000_000, 1_500_000}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(200 * time.Millisecond)
		in := Input{Estimate: estimates[i/25%len(estimates)], Fixed: 40_000, CanProbe: true, Tracks: tracks}
		out = a.Allocate(now, in, out).Decisions
	}
}

// TestNoProbeRightAfterUpgrade: after a track went up, its new rate is
// measured before the next probe.
func TestNoProbeRightAfterUpgrade(t *testing.T) {
	a := New(Config{})
	tracks := []Track{cam("a", 2, px720)}
	in := func(est uint64) Input {
		return Input{Estimate: est, Verified: true, Fixed: 40_000, CanProbe: true, Tracks: tracks}
	}
	r := a.Allocate(t0, in(300_000), nil)
	require.Equal(t, int32(0), r.Decisions[0].Layer)
	require.NotZero(t, r.Probe, "a first allocation is not an upgrade")
	r = a.Allocate(t0.Add(time.Second), in(700_000), nil)
	require.Equal(t, int32(1), r.Decisions[0].Layer)
	require.Zero(t, r.Probe, "just went up")
	require.Zero(t, a.Allocate(t0.Add(2900*time.Millisecond), in(700_000), nil).Probe)
	require.NotZero(t, a.Allocate(t0.Add(3*time.Second), in(700_000), nil).Probe, "2 s later")
}

// TestSteppedDownKeepsHold: going down in steps as bandwidth falls is not
// flapping; the hold does not double.
func TestSteppedDownKeepsHold(t *testing.T) {
	runSteps(t, New(Config{}), []Track{cam("a", 2, px720)}, []step{
		{0, 2_000_000, 2, true},
		{time.Second, 1_000_000, 1, true},
		{2 * time.Second, 400_000, 0, true},
		{4900 * time.Millisecond, 2_000_000, 0, false},
		{5 * time.Second, 2_000_000, 2, true}, // 3 s after the last step down
	})
}

// TestSubscriberCapNoHold: a subscriber lowering its own cap is no congestion: raising it again
// is answered at once (no hold, no flap doubling), however often it toggles.
func TestSubscriberCapNoHold(t *testing.T) {
	a := New(Config{})
	at := func(s time.Duration, maxLayer int32) int32 {
		r := a.Allocate(t0.Add(s), Input{Estimate: 3_000_000, Tracks: []Track{cam("a", maxLayer, px720)}}, nil)
		return r.Decisions[0].Layer
	}
	require.Equal(t, int32(2), at(0, 2))
	for i := range 4 {
		base := time.Duration(i) * time.Second
		require.Equal(t, int32(0), at(base+200*time.Millisecond, 0), "round %d: down to the cap", i)
		require.Equal(t, int32(2), at(base+400*time.Millisecond, 2), "round %d: straight back up", i)
	}
}
