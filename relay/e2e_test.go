package relay

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

// TestRelayAudioAndVideo relays an Opus-like track and a 3-layer VP8 track
// from A to down-tracks on B: only the layer B's down-track wants crosses.
func TestRelayAudioAndVideo(t *testing.T) {
	t.Parallel()
	audio := newTestSource("TR_audio", webrtc.RTPCodecTypeAudio, sfu.LayerBit(sfu.LayerLow))
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(audio, video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)

	rtAudio := subscribe(t, peer, "TR_audio")
	require.Equal(t, webrtc.RTPCodecTypeAudio, rtAudio.Kind())
	require.Equal(t, opusCodec.RTPCodecCapability, rtAudio.Codec().RTPCodecCapability)
	rtVideo := subscribe(t, peer, "TR_video")
	require.Equal(t, webrtc.RTPCodecTypeVideo, rtVideo.Kind())
	require.Equal(t, webrtc.MimeTypeVP8, rtVideo.Codec().MimeType)
	require.Equal(t, sfu.AllLayers, rtVideo.Layers())
	require.Same(t, rtVideo, subscribe(t, peer, "TR_video"), "one subscription per track")

	dtAudio, wAudio := newDownTrack(t, rtAudio, sfu.MaxLayerAuto)
	dtVideo, wVideo := newDownTrack(t, rtVideo, sfu.LayerLow)
	t.Cleanup(dtAudio.Close)
	t.Cleanup(dtVideo.Close)

	stopAudio := runGenerator(t, audio, 5*time.Millisecond, 1, 80)
	stopVideo := runGenerator(t, video, 5*time.Millisecond, 20, 600)

	require.Eventually(t, func() bool { return wAudio.count() >= 50 && wVideo.count() >= 50 }, waitFor, 10*time.Millisecond)
	stopAudio()
	stopVideo()
	require.Equal(t, sfu.LayerLow, dtVideo.CurrentLayer())
	for _, p := range wVideo.packets() {
		require.Equal(t, uint32(777), p.SSRC)
	}

	// Without loss, every byte A sent arrives.
	require.Eventually(t, func() bool {
		return a.Stats().Peers[0].Sent == b.Stats().Peers[0].Received
	}, waitFor, 10*time.Millisecond)
	st := b.Stats()
	require.Len(t, st.Peers, 1)
	ps := st.Peers[0]
	require.Equal(t, "node-a", ps.NodeID)
	require.True(t, ps.Connected)
	require.Equal(t, 2, ps.Subscriptions)
	require.NotZero(t, ps.Received.Audio)
	require.NotZero(t, ps.Received.Video[0])
	require.Zero(t, ps.Received.Video[1], "layer 1 is not wanted")
	require.Zero(t, ps.Received.Video[2], "layer 2 is not wanted")

	sa := a.Stats().Peers[0]
	require.Equal(t, "node-b", sa.NodeID)
	require.Equal(t, 2, sa.Served)
	require.Eventually(t, func() bool { return a.Stats().Peers[0].RTT > 0 }, waitFor, 10*time.Millisecond)
	require.Equal(t, sfu.LayerLow, video.maxWanted.Load(), "B's needs count for A's dynacast")
}
