package bwe

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSimConstrainedLink runs the acceptance scenario against the simulated
// bottleneck: 700 kbit/s settles on the middle layer with little loss, 5
// Mbit/s reaches the high layer through probes, 100 kbit/s leaves only audio,
// and bandwidth coming back brings video back.
func TestSimConstrainedLink(t *testing.T) {
	s := newSim(Config{}, 700_000)

	s.run(10 * time.Second)
	require.Equal(t, 1, s.layer, "700 kbit/s: layer after 10 s (estimate %v, probes %v)", s.e.Stats(), s.probes)
	s.resetCounters()
	for range 100 { // 10 s, checked every 100 ms: no flapping
		s.run(100 * time.Millisecond)
		require.Equal(t, 1, s.layer, "700 kbit/s: left the middle layer at %d ms (%+v)", s.nowUS/1000, s.e.Stats())
	}
	require.Less(t, s.lossRatio(), 0.02, "700 kbit/s: media loss over 10 s")
	est, mode := s.e.Estimate()
	require.Equal(t, ModeTWCC, mode)
	require.InDelta(t, 650_000, float64(est), 250_000, "700 kbit/s: estimate")

	s.setRate(5_000_000)
	reached := -1
	for i := range 150 { // 15 s
		s.run(100 * time.Millisecond)
		if s.layer == 2 {
			reached = i
			break
		}
	}
	require.GreaterOrEqual(t, reached, 0, "5 Mbit/s: high layer not reached in 15 s (%+v, probes %v)", s.e.Stats(), s.probes)
	t.Logf("5 Mbit/s: high layer after %d ms", (reached+1)*100)

	s.setRate(100_000)
	paused := -1
	for i := range 50 {
		s.run(100 * time.Millisecond)
		if s.layer == -1 {
			paused = i
			break
		}
	}
	require.GreaterOrEqual(t, paused, 0, "100 kbit/s: video still on after 5 s (%+v)", s.e.Stats())
	t.Logf("100 kbit/s: video paused after %d ms", (paused+1)*100)
	s.run(5 * time.Second)
	require.Equal(t, -1, s.layer, "100 kbit/s: video came back (%+v, probes %v)", s.e.Stats(), s.probes)
	s.resetCounters()
	s.run(5 * time.Second)
	require.Less(t, s.lossRatio(), 0.05, "100 kbit/s: audio loss once video paused")

	s.setRate(5_000_000)
	s.run(15 * time.Second)
	require.Equal(t, 2, s.layer, "5 Mbit/s again: video resumed up to high (%+v, probes %v)", s.e.Stats(), s.probes)
}

// TestSimUnconstrained: on a fast link the estimator never invents
// congestion, and probes lift the estimate to what the sender wants.
func TestSimUnconstrained(t *testing.T) {
	s := newSim(Config{InitialBitrate: 300_000}, 50_000_000)
	s.run(15 * time.Second)
	require.Equal(t, 2, s.layer, "fast link: high layer (%+v, probes %v)", s.e.Stats(), s.probes)
	for _, p := range s.probes {
		require.False(t, p.Congested, "probe on a 50 Mbit/s link hit a bottleneck: %v", p)
	}
	require.Zero(t, s.lost)
}
