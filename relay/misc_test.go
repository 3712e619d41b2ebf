package relay

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{NodeID: "n", ClusterKey: testKey}
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no node id", func(c *Config) { c.NodeID = "" }, false},
		{"short key", func(c *Config) { c.ClusterKey = testKey[:31] }, false},
		{"no key", func(c *Config) { c.ClusterKey = nil }, false},
		{"unsubscribe delay of 2s", func(c *Config) { c.UnsubscribeDelay = 2 * time.Second }, false},
		{"redial max below min", func(c *Config) { c.RedialMin, c.RedialMax = time.Second, time.Millisecond }, false},
		{"keep-alive not below timeout", func(c *Config) { c.KeepAlive, c.LinkTimeout = time.Second, time.Second }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.modify(&c)
			err := c.withDefaults().validate()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrInvalidConfig)
			}
		})
	}
	d := good.withDefaults()
	require.Equal(t, DefaultIdleTimeout, d.IdleTimeout)
	require.Equal(t, DefaultSendQueue, d.SendQueue)
	require.Equal(t, ":7883", d.ListenAddr)
	_, err := New(Config{NodeID: "n"})
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestForwardSet(t *testing.T) {
	t.Parallel()
	const (
		l0 = sfu.LayerMask(1)
		l1 = sfu.LayerMask(2)
		l2 = sfu.LayerMask(4)
	)
	tests := []struct {
		name           string
		wanted, active sfu.LayerMask
		audio          bool
		want           sfu.LayerMask
	}{
		{"nothing wanted", 0, l0 | l1 | l2, false, 0},
		{"nothing seen yet: as wanted", l2, 0, false, l2},
		{"wanted and active", l0 | l2, l0 | l1 | l2, false, l0 | l2},
		{"high paused: fall back to mid", l2, l0 | l1, false, l1},
		{"low missing: fall up to mid", l0, l1 | l2, false, l1},
		{"two wanted, one fallback shared", l1 | l2, l0, false, l0},
		{"audio", l2, 0, true, l0},
		{"audio not wanted", 0, l0, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, forwardSet(tc.wanted, tc.active, tc.audio))
		})
	}
}

func TestDialSelfAndClosed(t *testing.T) {
	t.Parallel()
	a := newEndpoint(t, "node-a", nil)
	_, err := a.Dial(t.Context(), "node-a", a.Addr().String())
	require.ErrorIs(t, err, ErrInvalidConfig)
	b := newEndpoint(t, "node-b", nil)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	_, err = b.Dial(t.Context(), "node-a", a.Addr().String())
	require.ErrorIs(t, err, ErrClosed)
	// An unreachable peer: the dial times out.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = a.Dial(ctx, "node-x", "127.0.0.1:9")
	require.Error(t, err)
}

// TestRelayOversizePackets sends RTP packets too large for a datagram: they
// cross on the oversize stream.
func TestRelayOversizePackets(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.LayerBit(sfu.LayerLow))
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	sink := newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rt.AddSink(sink))
	require.Eventually(t, func() bool { return video.maxWanted.Load() == sfu.LayerLow }, waitFor, 5*time.Millisecond)
	var sns []uint16
	for i := range 20 {
		size := 400
		if i%2 == 1 {
			size = 1480 // with the RTP header: larger than any QUIC datagram here
		}
		sns = append(sns, video.push(sfu.LayerLow, i == 0, size, time.Now()))
	}
	require.Eventually(t, func() bool {
		for _, sn := range sns {
			if !sink.has(sfu.LayerLow, sn) {
				return false
			}
		}
		return true
	}, waitFor, 5*time.Millisecond)
	require.GreaterOrEqual(t, a.Stats().Peers[0].Oversize, uint64(10))
}

// TestRelayFeedback checks the feedback paths: keyframe requests reach the
// source (throttled per layer), sender reports are relayed, cached packets
// are served on B, and layer-set changes are announced.
func TestRelayFeedback(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.LayerBit(sfu.LayerLow)|sfu.LayerBit(sfu.LayerMid))
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil, func(c *Config) { c.PLIThrottle = time.Hour })
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	require.Equal(t, sfu.LayerBit(sfu.LayerLow)|sfu.LayerBit(sfu.LayerMid), rt.Layers())
	sink := newRecvSink(sfu.LayerBit(sfu.LayerMid))
	require.NoError(t, rt.AddSink(sink))
	require.Eventually(t, func() bool { return video.maxWanted.Load() == sfu.LayerMid }, waitFor, 5*time.Millisecond)

	now := time.Now()
	video.senderReport(sfu.LayerMid, 0xABCD_0000_0000_0000, 90000, now)
	sn := video.push(sfu.LayerMid, true, 300, now)
	require.Eventually(t, func() bool { return sink.has(sfu.LayerMid, sn) }, waitFor, 5*time.Millisecond)

	before := video.keyframes[sfu.LayerMid].Load()
	rt.RequestKeyframe(sfu.LayerMid)
	rt.RequestKeyframe(sfu.LayerMid) // throttled
	require.Eventually(t, func() bool { return video.keyframes[sfu.LayerMid].Load() == before+1 }, waitFor, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, before+1, video.keyframes[sfu.LayerMid].Load())
	require.Equal(t, uint64(1), peer.Stats().KeyframeRequests)

	require.Eventually(t, func() bool {
		_, ok := rt.SenderReport(sfu.LayerMid)
		return ok
	}, waitFor, 10*time.Millisecond)
	sr, _ := rt.SenderReport(sfu.LayerMid)
	require.GreaterOrEqual(t, sr.NTPTime, uint64(0xABCD_0000_0000_0000))
	require.Less(t, sr.NTPTime, uint64(0xABCD_0000_0000_0000)+10<<32, "moved by the relay delay only")
	require.GreaterOrEqual(t, sr.RTPTime, uint32(90000))
	_, ok := rt.SenderReport(sfu.LayerLow)
	require.False(t, ok)

	buf := make([]byte, 1500)
	n, err := rt.ReadPacket(sfu.LayerMid, sn, buf)
	require.NoError(t, err)
	require.Greater(t, n, 300)
	_, err = rt.ReadPacket(sfu.LayerHigh, sn, buf)
	require.ErrorIs(t, err, sfu.ErrLayerNotFound)
	_, err = rt.ReadPacket(7, sn, buf)
	require.ErrorIs(t, err, sfu.ErrInvalidLayer)

	video.active.Store(uint32(sfu.LayerBit(sfu.LayerLow)))
	require.Eventually(t, func() bool { return rt.Layers() == sfu.LayerBit(sfu.LayerLow) }, waitFor, 10*time.Millisecond)

	st := rt.Stats()
	require.Len(t, st.Layers, 1)
	require.Equal(t, ssrcOf(sfu.LayerMid), st.Layers[0].SSRC)
	require.Equal(t, uint64(1), st.PacketsReceived)
}

// TestRelayFallbackLayer checks that a subscribed layer the publisher does not
// send is replaced by the nearest one it sends, until it comes back.
func TestRelayFallbackLayer(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	video.active.Store(uint32(sfu.LayerBit(sfu.LayerLow) | sfu.LayerBit(sfu.LayerMid)))
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	rt := subscribe(t, dial(t, b, a), "TR_video")
	dt, w := newDownTrack(t, rt, sfu.LayerHigh)
	t.Cleanup(dt.Close)
	runGenerator(t, video, 5*time.Millisecond, 1<<30, 300)

	require.Eventually(t, func() bool { return dt.CurrentLayer() == sfu.LayerMid }, waitFor, 5*time.Millisecond)
	require.Equal(t, sfu.LayerHigh, video.maxWanted.Load(), "the origin still asks its publisher for layer 2")

	video.active.Store(uint32(sfu.AllLayers)) // the publisher resumes layer 2
	require.Eventually(t, func() bool { return dt.CurrentLayer() == sfu.LayerHigh }, waitFor, 5*time.Millisecond)
	require.NotZero(t, w.count())
}

// TestRelayLossyData sends lossy data messages as datagrams.
func TestRelayLossyData(t *testing.T) {
	t.Parallel()
	got := make(chan DataMessage, 100)
	a := newEndpoint(t, "node-a", nil, func(c *Config) { c.OnData = func(_ string, m DataMessage) { got <- m } })
	b := newEndpoint(t, "node-b", nil)
	p := dial(t, b, a)
	require.NoError(t, p.SendData(t.Context(), DataMessage{Room: "r", Kind: 1, Payload: []byte("hi")}))
	big := DataMessage{Room: "r", Kind: 2, Payload: make([]byte, 4000)} // too large for a datagram
	require.NoError(t, p.SendData(t.Context(), big))
	for range 2 {
		select {
		case m := <-got:
			if m.Kind == 1 {
				require.False(t, m.Reliable)
				require.Equal(t, []byte("hi"), m.Payload)
			} else {
				require.True(t, m.Reliable, "sent on the data stream")
				require.Len(t, m.Payload, 4000)
			}
		case <-time.After(waitFor):
			t.Fatal("data message lost on a lossless link")
		}
	}
	require.NotZero(t, p.Stats().Sent.Data)
}
