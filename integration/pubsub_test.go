package integration

import (
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
)

// TestPublishSubscribe: A publishes Opus and a 3-layer VP8 simulcast camera; B, auto-subscribed,
// receives RTP of both, and the video it gets is well-formed synthetic VP8 of one layer.
func TestPublishSubscribe(t *testing.T) {
	n := startNode(t)
	const room = "pubsub"
	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")

	mic := publishMic(t, a)
	cam := publishCamera(t, a)

	audio := b.subscribed(t, mic.pub.SID())
	video := b.subscribed(t, cam.pub.SID())
	require.Equal(t, lksdk.TrackKindAudio, audio.kind)
	require.Equal(t, lksdk.TrackKindVideo, video.kind)
	require.Equal(t, "alice", audio.publisher)
	require.Equal(t, "alice", video.publisher)

	// Media keeps flowing: 50 audio packets = 1 s of Opus, 30 video frames ~ 1 s of one layer.
	waitPackets(t, audio, 50, "audio at bob")
	waitPackets(t, video, 30, "video at bob")
	require.NoError(t, video.err(), "video payload at bob")
	require.NoError(t, audio.err(), "audio payload at bob")

	require.Empty(t, b.ev.list(&b.ev.subscriptionFailed), "bob had failed subscriptions")

	// B's view of A's publications matches what A published.
	rp := b.remote(t, "alice")
	pubs := map[string]lksdk.TrackKind{}
	for _, p := range rp.TrackPublications() {
		pubs[p.SID()] = p.Kind()
	}
	require.Equal(t, map[string]lksdk.TrackKind{
		mic.pub.SID(): lksdk.TrackKindAudio, cam.pub.SID(): lksdk.TrackKindVideo,
	}, pubs)

	// The first video packet B got starts a keyframe: a subscriber must never be fed inter
	// frames it cannot decode.
	recs := video.snapshot()
	first := firstMedia(recs)
	require.GreaterOrEqual(t, first, 0, "no media packet")
	require.True(t, recs[first].frameStart && recs[first].keyframe,
		"first video packet at bob is not the start of a keyframe:\n%s", describeAround(recs, first))
	checkContinuity(t, recs)
	checkContinuity(t, audio.snapshot())

	// The node counted the media it relayed.
	require.Positive(t, n.Counters().PacketsIn.Load(), "node PacketsIn")
	require.Positive(t, n.Counters().PacketsOut.Load(), "node PacketsOut")
}
