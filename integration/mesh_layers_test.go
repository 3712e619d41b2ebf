package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
	"github.com/edgemesh/edge/relay"
)

const (
	// layerSwitchBound is the acceptance bound from a subscriber's switch to HIGH until the
	// first keyframe of the high layer reaches it across the relay.
	layerSwitchBound = time.Second
	// layerWindow is how long a per-layer byte count runs.
	layerWindow = 1500 * time.Millisecond
)

// layerSub is a subscriber of alice's camera with its publication (to set the quality) and the
// recorder of the video it receives.
type layerSub struct {
	c     *client
	pub   *lksdk.RemoteTrackPublication
	video *trackRecorder
}

func newLayerSub(t *testing.T, c *client, cam *camera) *layerSub {
	t.Helper()
	video := c.subscribed(t, cam.pub.SID())
	rp := c.remote(t, "alice")
	pub, ok := rp.GetTrackPublication(livekit.TrackSource_CAMERA).(*lksdk.RemoteTrackPublication)
	require.True(t, ok, "%s has no remote camera publication of alice", c.identity)
	return &layerSub{c: c, pub: pub, video: video}
}

// settle waits until s receives layer steadily.
func (s *layerSub) settle(t *testing.T, layer int) {
	t.Helper()
	waitFor(t, func() bool { return s.video.settledOn(layer, settleFrames) }, func() string {
		return sprintf("%s never settled on layer %d (at layer %d)", s.c.identity, layer, s.video.lastLayer())
	})
}

// keyframeLatency sets s's quality to HIGH and returns the time until the first keyframe of
// the high layer arrives at s.
func (s *layerSub) keyframeLatency(t *testing.T) time.Duration {
	t.Helper()
	mark := s.video.size()
	start := time.Now()
	require.NoError(t, s.pub.SetVideoQuality(livekit.VideoQuality_HIGH))
	at, ok := pollUntil(waitTimeout, func() bool { return s.video.keyframeOfLayerSince(mark, 2) })
	require.True(t, ok, "%s: no keyframe of the high layer within %s of asking for HIGH (at layer %d)",
		s.c.identity, waitTimeout, s.video.lastLayer())
	return at.Sub(start)
}

// keyframeOfLayerSince reports whether a keyframe of layer started among records >= from.
func (r *trackRecorder) keyframeOfLayerSince(from, layer int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := from; i < len(r.recs); i++ {
		if rec := r.recs[i]; rec.frameStart && rec.keyframe && rec.layer == layer {
			return true
		}
	}
	return false
}

// videoLayersOf lists the video layers with bytes in tr.
func videoLayersOf(tr relay.Traffic) []int {
	var out []int
	for l, n := range tr.Video {
		if n > 0 {
			out = append(out, l)
		}
	}
	return out
}

// waitRelayLayers waits until a whole layerWindow of from→to traffic carries exactly the video
// layers want, and returns how long that took.
func waitRelayLayers(t *testing.T, from, to *node.Node, want []int) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(waitTimeout)
	for {
		tr, _ := relayWindow(from, to, layerWindow)
		got := videoLayersOf(tr)
		if slices.Equal(got, want) {
			return time.Since(start) - layerWindow
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s→%s relays video layers %v (%+v), want only %v", from.ID(), to.ID(), got, tr, want)
		}
	}
}

// TestMeshRelayLayers (issue 4): alice publishes a 3-layer simulcast camera on A; b1 and b2
// subscribe on B, c1 on C.
//
//  1. b1 and b2 ask for LOW: only layer 0 crosses A→B (per-layer relay counters), while c1 still
//     gets layer 2 over A→C.
//  2. b1 asks for HIGH: layer 2 crosses A→B again and a keyframe of it reaches b1 within 1 s
//     (measured); b2 stays on layer 0.
//  3. b1 and c1 ask for LOW: no edge wants the high layer, and alice's SDK receives a
//     SubscribedQualityUpdate disabling it (and the medium one); nothing above layer 0 is relayed.
//  4. b1 asks for HIGH again: alice is told to enable the high layer and b1 receives it again
//     (time to its first keyframe logged: the publisher resumes the paused layer first).
func TestMeshRelayLayers(t *testing.T) {
	nodes := startMesh(t, meshEdges)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const room = "layers"
	alice := meshJoin(t, a.URL(), room, "alice", true)
	cam := publishCamera(t, alice.client)
	b1 := newLayerSub(t, joinRoom(t, b, room, "b1"), cam)
	b2 := newLayerSub(t, joinRoom(t, b, room, "b2"), cam)
	c1 := newLayerSub(t, joinRoom(t, c, room, "c1"), cam)
	for _, s := range []*layerSub{b1, b2, c1} {
		s.settle(t, 2)
	}

	// 1. Everyone on B wants LOW.
	for _, s := range []*layerSub{b1, b2} {
		require.NoError(t, s.pub.SetVideoQuality(livekit.VideoQuality_LOW))
	}
	for _, s := range []*layerSub{b1, b2} {
		s.settle(t, 0)
	}
	took := waitRelayLayers(t, a, b, []int{0})
	t.Logf("A→B carries only layer 0 %s after B's subscribers settled on LOW", took.Round(time.Millisecond))
	toB, _ := relayWindow(a, b, 2*time.Second)
	require.Equal(t, []int{0}, videoLayersOf(toB), "A→B with every B subscriber on LOW: %+v", toB)
	toC, _ := relayWindow(a, c, time.Second)
	require.Positive(t, toC.Video[2], "A→C lost layer 2 although c1 wants HIGH: %+v", toC)

	// 2. One subscriber on B switches to HIGH.
	latency := b1.keyframeLatency(t)
	t.Logf("b1 LOW→HIGH: first high-layer keyframe at b1 %s after the request (bound %s)",
		latency.Round(time.Millisecond), layerSwitchBound)
	require.LessOrEqual(t, latency, layerSwitchBound, "LOW→HIGH keyframe latency across the relay")
	b1.settle(t, 2)
	toB, _ = relayWindow(a, b, time.Second)
	require.Positive(t, toB.Video[2], "A→B carries no layer 2 after b1 asked for HIGH: %+v", toB)
	require.True(t, b2.video.settledOn(0, settleFrames), "b2 left layer 0 (at layer %d)", b2.video.lastLayer())

	// 3. Nobody anywhere wants HIGH: dynacast pauses it at the publisher.
	asked := time.Now()
	for _, s := range []*layerSub{b1, c1} {
		require.NoError(t, s.pub.SetVideoQuality(livekit.VideoQuality_LOW))
	}
	waitFor(t, func() bool {
		hi, hiKnown := alice.layers.state(livekit.VideoQuality_HIGH)
		mid, midKnown := alice.layers.state(livekit.VideoQuality_MEDIUM)
		return hiKnown && !hi && midKnown && !mid
	}, func() string {
		return sprintf("alice was never told to pause the high and medium layers; updates: %+v", alice.layers.history())
	})
	paused := lastChange(alice.layers.history(), livekit.VideoQuality_HIGH)
	t.Logf("dynacast: alice told to pause the high layer %s after the last HIGH subscriber asked for LOW",
		paused.at.Sub(asked).Round(time.Millisecond))
	lo, _ := alice.layers.state(livekit.VideoQuality_LOW)
	require.True(t, lo, "alice was told to pause the low layer too")
	for _, peer := range []*node.Node{b, c} {
		waitRelayLayers(t, a, peer, []int{0})
	}

	// 4. HIGH again: the publisher resumes the layer and b1 receives it.
	latency = b1.keyframeLatency(t)
	resumed := lastChange(alice.layers.history(), livekit.VideoQuality_HIGH)
	require.True(t, resumed.enabled, "alice was not told to resume the high layer; updates: %+v", alice.layers.history())
	t.Logf("b1 LOW→HIGH with the layer paused at the publisher: alice told to resume it, "+
		"first high-layer keyframe at b1 %s after the request", latency.Round(time.Millisecond))
	b1.settle(t, 2)
	require.NoError(t, b1.video.err(), "b1 video payload")
	checkContinuity(t, b1.video.snapshot())
	checkKeyframeSwitches(t, b1.video.snapshot())
}

// lastChange returns the latest update of quality in h (zero if none).
func lastChange(h []layerChange, q livekit.VideoQuality) layerChange {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].quality == q {
			return h[i]
		}
	}
	return layerChange{}
}
