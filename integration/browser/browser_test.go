package browser_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// startNode runs an edge node in dev mode on 127.0.0.1 with ephemeral ports.
// It is shut down in the cleanup, after everything registered later (the
// browser) has been closed.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	cfg := node.DevConfig()
	cfg.Port = 0
	cfg.RTCTCPPort = 0
	cfg.RTCUDPPort = 0
	cfg.GossipPort, cfg.RelayPort = 0, 0
	n, err := node.New(cfg, zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger())
	require.NoError(t, err, "node.New")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Start(ctx), "node.Start")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("node.Shutdown: %v", err)
		}
	})
	return n
}

// joinRoom connects the page in tb to the node and, if publish is set,
// publishes its fake camera and microphone.
func joinRoom(t *testing.T, tb *tab, url, token string, publish bool) {
	t.Helper()
	expr := "edgeTest.join(" + jsString(url) + ", " + jsString(token) + ", " + jsBool(publish) + ")"
	identity, err := eval[string](tb, joinTimeout, expr)
	require.NoError(t, err, "tab %s: joining the room", tb.name)
	t.Logf("tab %s joined as %q (publish=%v)", tb.name, identity, publish)
}

// pageStats is what edgeTest.stats() returns: the inbound-rtp stats of all
// peer connections of a page.
type pageStats struct {
	PeerConnections []struct {
		ConnectionState    string `json:"connectionState"`
		ICEConnectionState string `json:"iceConnectionState"`
		SignalingState     string `json:"signalingState"`
	} `json:"peerConnections"`
	Inbound []struct {
		Kind                  string `json:"kind"`
		SSRC                  uint32 `json:"ssrc"`
		PacketsReceived       int64  `json:"packetsReceived"`
		PacketsLost           int64  `json:"packetsLost"`
		BytesReceived         int64  `json:"bytesReceived"`
		FramesDecoded         int64  `json:"framesDecoded"`
		DecoderImplementation string `json:"decoderImplementation"`
	} `json:"inbound"`
	VideoFramesDecoded   int64 `json:"videoFramesDecoded"`
	VideoPacketsReceived int64 `json:"videoPacketsReceived"`
	AudioPacketsReceived int64 `json:"audioPacketsReceived"`
}

// subscribedTrack is one entry of edgeTest.subscribed().
type subscribedTrack struct {
	Kind        string `json:"kind"`
	TrackSID    string `json:"trackSid"`
	Participant string `json:"participant"`
}

// nodeAndTwoTabs starts a node and headless Chromium with two tabs, "publisher" and
// "subscriber", on the test page. It skips the test without the prerequisites and checks for
// leaked goroutines at the end.
func nodeAndTwoTabs(t *testing.T) (*node.Node, *tab, *tab) {
	t.Helper()
	requirePrereqs(t)
	checkGoroutines(t)
	n := startNode(t)
	pageURL := servePage(t)
	browserCtx := startChromium(t)
	publisher := openTab(t, browserCtx, "publisher")
	subscriber := openTab(t, browserCtx, "subscriber")
	publisher.navigate(t, pageURL)
	subscriber.navigate(t, pageURL)
	return n, publisher, subscriber
}

// TestBrowserPublishSubscribe is the single-node acceptance test: a
// livekit-client page publishes Chromium's fake camera and microphone through
// an edge node, and a second page decodes the video and receives the audio.
func TestBrowserPublishSubscribe(t *testing.T) {
	n, publisher, subscriber := nodeAndTwoTabs(t)

	const room = "browser-test"
	joinRoom(t, publisher, n.URL(), joinToken(t, room, "publisher"), true)
	joinRoom(t, subscriber, n.URL(), joinToken(t, room, "subscriber"), false)

	var last pageStats
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := eval[pageStats](subscriber, evalTimeout, "edgeTest.stats()")
		if !assert.NoError(c, err) {
			return
		}
		last = st
		assert.Positive(c, st.VideoFramesDecoded, "subscriber video framesDecoded; stats %+v", st)
		assert.Positive(c, st.AudioPacketsReceived, "subscriber audio packetsReceived; stats %+v", st)
	}, mediaTimeout, 500*time.Millisecond, "subscriber did not receive media through the edge node")
	t.Logf("subscriber stats: video framesDecoded=%d packetsReceived=%d, audio packetsReceived=%d",
		last.VideoFramesDecoded, last.VideoPacketsReceived, last.AudioPacketsReceived)

	tracks, err := eval[[]subscribedTrack](subscriber, evalTimeout, "edgeTest.subscribed()")
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, tr := range tracks {
		assert.Equal(t, "publisher", tr.Participant, "subscribed track %s", tr.TrackSID)
		kinds[tr.Kind] = true
	}
	assert.True(t, kinds["video"] && kinds["audio"], "subscribed tracks %+v, want one video and one audio", tracks)
}
