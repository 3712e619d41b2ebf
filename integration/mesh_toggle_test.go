package integration

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// TestMeshRelayQualityToggle (issue 4): a subscriber on B that goes HIGH → LOW and straight back
// to HIGH gets a keyframe of the high layer within 1 s of asking, like one that stayed on LOW
// for a while (TestMeshRelayLayers step 2). Asking for less is not a bandwidth downgrade: it
// must not hold the track below what the subscriber asks for next.
func TestMeshRelayQualityToggle(t *testing.T) {
	nodes := startMesh(t, 2)
	a, b := nodes[0], nodes[1]
	const room = "toggle"
	alice := joinRoom(t, a, room, "alice")
	cam := publishCamera(t, alice)
	b1 := newLayerSub(t, joinRoom(t, b, room, "b1"), cam)
	b1.settle(t, 2)
	for round := range 2 {
		require.NoError(t, b1.pub.SetVideoQuality(livekit.VideoQuality_LOW))
		b1.settle(t, 0)
		latency := b1.keyframeLatency(t)
		t.Logf("round %d: LOW then at once HIGH: first high-layer keyframe at b1 %s after the request (bound %s)",
			round, latency.Round(time.Millisecond), layerSwitchBound)
		require.LessOrEqual(t, latency, layerSwitchBound, "round %d: HIGH after a quick LOW", round)
		b1.settle(t, 2)
	}
}
