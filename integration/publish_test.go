package integration

import (
	"testing"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

const (
	cameraName = "camera"
	micName    = "mic"
)

// camera is a published 3-layer VP8 simulcast track.
type camera struct {
	pub     *lksdk.LocalTrackPublication
	tracks  []*lksdk.LocalTrack // low to high
	sources []*vp8Source        // low to high
}

// publishCamera publishes the synthetic simulcast camera of c with the SDK's simulcast API
// (one LocalTrack per layer sharing a simulcast id; rids q, h, f).
func publishCamera(t *testing.T, c *client) *camera {
	t.Helper()
	return publishCameraLayers(t, c, simulcastLayers())
}

// publishCameraLayers is publishCamera with the given layers (low to high).
func publishCameraLayers(t *testing.T, c *client, layers []simLayer) *camera {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	cam := &camera{}
	simulcastID := c.identity + "-" + cameraName
	for i, l := range layers {
		src := newVP8Source(i, l)
		tr, err := lksdk.NewLocalTrack(codec,
			lksdk.WithSimulcast(simulcastID, &livekit.VideoLayer{
				Quality: l.quality, Width: uint32(l.width), Height: uint32(l.height), Bitrate: l.bitrate,
			}),
			lksdk.WithRTCPHandler(src.onRTCP),
		)
		require.NoError(t, err)
		// The SDK starts writing when the track is bound to the negotiated sender.
		require.NoError(t, tr.StartWrite(src, nil))
		cam.tracks = append(cam.tracks, tr)
		cam.sources = append(cam.sources, src)
	}
	pub, err := c.room.LocalParticipant.PublishSimulcastTrack(cam.tracks, &lksdk.TrackPublicationOptions{
		Name: cameraName, Source: livekit.TrackSource_CAMERA, VideoWidth: 1280, VideoHeight: 720,
	})
	require.NoError(t, err, "publish simulcast camera")
	require.NotEmpty(t, pub.SID())
	cam.pub = pub
	return cam
}

// microphone is a published Opus track.
type microphone struct {
	pub    *lksdk.LocalTrackPublication
	track  *lksdk.LocalTrack
	source *opusSource
}

// publishMic publishes the synthetic Opus microphone of c.
func publishMic(t *testing.T, c *client) *microphone {
	t.Helper()
	tr, src := newMicTrack(t)
	pub, err := c.room.LocalParticipant.PublishTrack(tr, &lksdk.TrackPublicationOptions{
		Name: micName, Source: livekit.TrackSource_MICROPHONE,
	})
	require.NoError(t, err, "publish microphone")
	require.NotEmpty(t, pub.SID())
	return &microphone{pub: pub, track: tr, source: src}
}

// newMicTrack builds an Opus sample track fed by an opusSource.
func newMicTrack(t *testing.T) (*lksdk.LocalTrack, *opusSource) {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	tr, err := lksdk.NewLocalSampleTrack(codec)
	require.NoError(t, err)
	src := &opusSource{}
	require.NoError(t, tr.StartWrite(src, nil))
	return tr, src
}
