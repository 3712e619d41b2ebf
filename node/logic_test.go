package node

import (
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

func TestMaxLayerFor(t *testing.T) {
	pt := &publishedTrack{info: &livekit.TrackInfo{Layers: []*livekit.VideoLayer{
		{Quality: livekit.VideoQuality_LOW, Width: 320, Height: 180},
		{Quality: livekit.VideoQuality_MEDIUM, Width: 640, Height: 360},
		{Quality: livekit.VideoQuality_HIGH, Width: 1280, Height: 720},
	}}}
	cases := []struct {
		name string
		u    *livekit.UpdateTrackSettings
		want int32
	}{
		{"quality low", &livekit.UpdateTrackSettings{Quality: livekit.VideoQuality_LOW}, 0},
		{"quality medium", &livekit.UpdateTrackSettings{Quality: livekit.VideoQuality_MEDIUM}, 1},
		{"quality high", &livekit.UpdateTrackSettings{Quality: livekit.VideoQuality_HIGH}, 2},
		{"small size", &livekit.UpdateTrackSettings{Width: 200, Height: 100}, 0},
		{"mid size", &livekit.UpdateTrackSettings{Width: 600, Height: 300}, 1},
		{"exact high", &livekit.UpdateTrackSettings{Width: 1280, Height: 720}, 2},
		{"larger than any", &livekit.UpdateTrackSettings{Width: 4000, Height: 3000}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, maxLayerFor(tc.u, pt))
		})
	}
}

func TestQualityFor(t *testing.T) {
	q, _ := qualityFor(0)
	require.Equal(t, livekit.ConnectionQuality_EXCELLENT, q)
	q, _ = qualityFor(0.05)
	require.Equal(t, livekit.ConnectionQuality_GOOD, q)
	q, _ = qualityFor(0.3)
	require.Equal(t, livekit.ConnectionQuality_POOR, q)
}

func TestLayerForRID(t *testing.T) {
	require.Equal(t, int32(0), layerForRID("q"))
	require.Equal(t, int32(1), layerForRID("h"))
	require.Equal(t, int32(2), layerForRID("f"))
	require.Equal(t, int32(0), layerForRID(""))
}

func TestSpeakersChanged(t *testing.T) {
	a := []*livekit.SpeakerInfo{{Sid: "1", Level: 0.5}, {Sid: "2", Level: 0.2}}
	b := []*livekit.SpeakerInfo{{Sid: "1", Level: 0.6}, {Sid: "2", Level: 0.1}}
	require.False(t, speakersChanged(a, b), "levels alone do not count as a change")
	require.True(t, speakersChanged(a, b[:1]))
	require.True(t, speakersChanged(a, []*livekit.SpeakerInfo{b[1], b[0]}))
}
