package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAudioLevel(t *testing.T) {
	t.Parallel()
	const frame = int64(20 * time.Millisecond)
	cases := []struct {
		name       string
		levels     func(i int) uint8 // dBov of packet i
		n          int
		wantActive bool
		minLevel   float64
		maxLevel   float64
	}{
		{"silence", func(int) uint8 { return 127 }, 100, false, 0, 0.001},
		{"loud speech", func(int) uint8 { return 10 }, 100, true, 0.25, 0.33},
		{"mostly silence with clicks", func(i int) uint8 {
			if i%5 == 0 {
				return 5
			}
			return 120
		}, 100, false, 0, 0.001},
		{"speech with pauses", func(i int) uint8 {
			if i%2 == 0 {
				return 20
			}
			return 100
		}, 100, true, 0.08, 0.11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a audioLevel
			now := int64(time.Hour)
			for i := range tc.n {
				a.observe(tc.levels(i), now)
				now += frame
			}
			level, active := a.level(now)
			require.Equal(t, tc.wantActive, active)
			require.GreaterOrEqual(t, level, tc.minLevel)
			require.LessOrEqual(t, level, tc.maxLevel)
			// Without observations for a while the track is silent.
			level, active = a.level(now + audioSilenceTimeout + frame)
			require.False(t, active)
			require.Zero(t, level)
		})
	}
}

func TestDBovToLinear(t *testing.T) {
	t.Parallel()
	require.InDelta(t, 1.0, dBovToLinear(0), 1e-9)
	require.InDelta(t, 0.1, dBovToLinear(20), 1e-9)
	require.Less(t, dBovToLinear(127), 1e-6)
}
