package integration

import (
	"testing"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
)

const (
	// settleFrames consecutive frames of a layer mean the forwarder switched to it.
	settleFrames = 3
	// steadyFrames more frames of the requested layer must then arrive with nothing else in
	// between for a step to pass.
	steadyFrames = 15
)

// TestSimulcastSwitch: B asks for qualities low, high, low, medium, high, then sizes 640x360 and
// 320x180 (a size overrides the quality the SDK still sends along, which stays HIGH). Each time
// the layer B receives (read from the payload marker) becomes the requested one and stays there;
// every switch lands on a keyframe of the new layer; across all switches the RTP sequence
// numbers B sees are strictly consecutive and the timestamps never go backwards.
func TestSimulcastSwitch(t *testing.T) {
	n := startNode(t)
	const room = "simulcast"
	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")

	cam := publishCamera(t, a)
	video := b.subscribed(t, cam.pub.SID())
	rp := b.remote(t, "alice")
	pub, ok := rp.GetTrackPublication(livekit.TrackSource_CAMERA).(*lksdk.RemoteTrackPublication)
	require.True(t, ok, "bob has no remote camera publication of alice")

	// A new subscription starts at HIGH (after a fast start on whatever keyframe came first);
	// let that settle so that no switch still in flight is mistaken for a reaction to a step.
	waitFor(t, func() bool { return video.settledOn(2, settleFrames) }, func() string {
		return sprintf("bob never settled on the default HIGH layer (at layer %d)", video.lastLayer())
	})

	quality := func(q livekit.VideoQuality) func() error {
		return func() error { return pub.SetVideoQuality(q) }
	}
	size := func(w, h uint32) func() error {
		return func() error { pub.SetVideoDimensions(w, h); return nil }
	}
	steps := []struct {
		name  string
		apply func() error
		layer int
	}{
		{"quality LOW", quality(livekit.VideoQuality_LOW), 0},
		{"quality HIGH", quality(livekit.VideoQuality_HIGH), 2},
		{"quality LOW again", quality(livekit.VideoQuality_LOW), 0},
		{"quality MEDIUM", quality(livekit.VideoQuality_MEDIUM), 1},
		{"quality HIGH again", quality(livekit.VideoQuality_HIGH), 2},
		{"size 640x360", size(640, 360), 1},
		{"size 320x180", size(320, 180), 0},
	}
	for _, s := range steps {
		require.NoError(t, s.apply(), s.name)
		waitFor(t, func() bool { return video.settledOn(s.layer, settleFrames) }, func() string {
			return sprintf("%s: bob still receives layer %d, want %d (PLIs per publisher layer: %v)",
				s.name, video.lastLayer(), s.layer, pliCounts(cam))
		})
		mark := video.size()
		waitFor(t, func() bool { return video.framesOfLayerSince(mark, s.layer) >= steadyFrames }, func() string {
			return sprintf("%s: layer %d did not keep flowing (%d frames since settling)",
				s.name, s.layer, video.framesOfLayerSince(mark, s.layer))
		})
		recs := video.snapshot()
		for i := mark; i < len(recs); i++ {
			if r := recs[i]; !r.padding && r.layer != s.layer {
				t.Fatalf("%s: packet #%d after settling on layer %d (at #%d) is of layer %d:\n%s",
					s.name, i, s.layer, mark, r.layer, describeAround(recs, i))
			}
		}
	}

	recs := video.snapshot()
	require.NoError(t, video.err(), "video payload at bob")
	checkContinuity(t, recs)
	checkKeyframeSwitches(t, recs)
	// Switching up needs a keyframe the SFU asks for (PLI/FIR) rather than waiting up to a
	// second for the periodic one.
	plis := pliCounts(cam)
	require.Positive(t, plis[1]+plis[2], "the node never asked the publisher for a keyframe (PLIs %v)", plis)
	// Every step changed the layer: at least len(steps)-1 switches, whatever layer came first.
	require.GreaterOrEqual(t, len(layerSwitches(recs)), len(steps)-1, "layer switches seen by bob")
}

// pliCounts lists the keyframe requests each layer's publisher track received.
func pliCounts(cam *camera) []int32 {
	out := make([]int32, len(cam.sources))
	for i, s := range cam.sources {
		out[i] = s.pliCount.Load()
	}
	return out
}
