package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

// TestRelayLayerSwitch checks per-layer subscription: only layer 0 crosses
// while B's down-track wants low quality; asking for high brings layer 2 and
// a keyframe on it within 1s.
func TestRelayLayerSwitch(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	dt, w := newDownTrack(t, rt, sfu.LayerLow)
	t.Cleanup(dt.Close)
	// Keyframes only on request, so the switch below is driven by one.
	runGenerator(t, video, 5*time.Millisecond, 1<<30, 500)

	require.Eventually(t, func() bool { return w.count() >= 40 }, waitFor, 10*time.Millisecond)
	st := peer.Stats()
	require.NotZero(t, st.Received.Video[0])
	require.Zero(t, st.Received.Video[1])
	require.Zero(t, st.Received.Video[2])
	require.Equal(t, sfu.LayerBit(sfu.LayerLow), rt.Subscribed())
	require.Equal(t, sfu.LayerLow, video.maxWanted.Load())
	keyframesBefore := video.keyframes[sfu.LayerHigh].Load()

	start := time.Now()
	dt.SetMaxLayer(sfu.LayerHigh)
	require.Eventually(t, func() bool { return dt.CurrentLayer() == sfu.LayerHigh }, waitFor, time.Millisecond)
	took := time.Since(start)
	t.Logf("switch to layer 2 took %v", took)
	require.Less(t, took, time.Second)
	require.Greater(t, video.keyframes[sfu.LayerHigh].Load(), keyframesBefore, "a keyframe was requested on layer 2")
	require.NotZero(t, peer.Stats().Received.Video[2])
	require.Equal(t, sfu.LayerHigh, video.maxWanted.Load(), "dynacast at the origin follows B")

	// Once switched, layer 0 is no longer needed on B: it stops crossing.
	require.Eventually(t, func() bool { return rt.Subscribed() == sfu.LayerBit(sfu.LayerHigh) }, waitFor, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // let layer-0 packets in flight arrive
	low := peer.Stats().Received.Video[0]
	require.Eventually(t, func() bool { return peer.Stats().Received.Video[2] > 0 && w.count() > 100 }, waitFor, 10*time.Millisecond)
	require.Equal(t, low, peer.Stats().Received.Video[0])
	require.Zero(t, peer.Stats().Received.Video[1])
}

// TestRelayOneCopyPerLink checks that ten sinks on B cost the link no more
// than one: the track crosses once.
func TestRelayOneCopyPerLink(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")

	sinks := []*recvSink{newRecvSink(sfu.AllLayers)}
	require.NoError(t, rt.AddSink(sinks[0]))
	require.Eventually(t, func() bool { return video.maxWanted.Load() == sfu.LayerHigh }, waitFor, time.Millisecond)
	const n = 200
	burst := func() uint64 {
		before := peer.Stats().Received.Total()
		var sent [sfu.NumLayers][]uint16
		for i := range n + 5 {
			for l := range int32(sfu.NumLayers) {
				sent[l] = append(sent[l], video.push(l, i == 0, 700, time.Now()))
			}
			if i < n {
				time.Sleep(500 * time.Microsecond)
			} else {
				time.Sleep(20 * time.Millisecond) // a slow tail: losses before it get NACKed
			}
		}
		require.Eventually(t, func() bool {
			for _, s := range sinks {
				for l := range int32(sfu.NumLayers) {
					for _, sn := range sent[l][:n] {
						if !s.has(l, sn) {
							return false
						}
					}
				}
			}
			return true
		}, waitFor, 5*time.Millisecond)
		return peer.Stats().Received.Total() - before
	}
	one := burst()
	for range 9 {
		s := newRecvSink(sfu.AllLayers)
		require.NoError(t, rt.AddSink(s))
		sinks = append(sinks, s)
	}
	ten := burst()
	t.Logf("bytes with 1 sink: %d, with 10 sinks: %d", one, ten)
	require.NotZero(t, one)
	require.LessOrEqual(t, float64(ten), 1.05*float64(one))
	for _, s := range sinks[1:] {
		require.GreaterOrEqual(t, s.distinct(sfu.LayerHigh), n)
	}
	require.Equal(t, 1, a.Stats().Peers[0].Served)
}

// TestRelayUnsubscribeAfterLastSink checks that the subscription ends within
// 2s of its last sink leaving.
func TestRelayUnsubscribeAfterLastSink(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	s1, s2 := newRecvSink(sfu.AllLayers), newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rt.AddSink(s1))
	require.NoError(t, rt.AddSink(s2))
	runGenerator(t, video, 5*time.Millisecond, 10, 300)
	require.Eventually(t, func() bool { return s1.count(sfu.LayerHigh) > 10 }, waitFor, 5*time.Millisecond)
	require.Equal(t, 1, a.Stats().Peers[0].Served)

	rt.RemoveSink(s1)
	require.Eventually(t, func() bool { return rt.Subscribed() == sfu.LayerBit(sfu.LayerLow) }, waitFor, 5*time.Millisecond)
	start := time.Now()
	rt.RemoveSink(s2)
	require.Eventually(t, func() bool { return a.Stats().Peers[0].Served == 0 }, waitFor, 5*time.Millisecond)
	took := time.Since(start)
	t.Logf("unsubscribed %v after the last sink left", took)
	require.Less(t, took, 2*time.Second)
	<-rt.Done()
	require.ErrorIs(t, rt.Err(), ErrClosed)
	require.ErrorIs(t, rt.AddSink(s1), ErrClosed)
	require.False(t, s1.isClosed(), "removed sinks are not closed")
	require.Equal(t, sfu.LayerNone, video.maxWanted.Load())
	require.Zero(t, peer.Stats().Subscriptions)

	// A new subscription to the same track starts afresh.
	rt2 := subscribe(t, peer, "TR_video")
	require.NotSame(t, rt, rt2)
	s3 := newRecvSink(sfu.LayerBit(sfu.LayerMid))
	require.NoError(t, rt2.AddSink(s3))
	require.Eventually(t, func() bool { return s3.count(sfu.LayerMid) > 10 }, waitFor, 5*time.Millisecond)
}

// TestRelayTrackEnded checks that the end of the track on A closes the
// RemoteTrack on B and its down-tracks.
func TestRelayTrackEnded(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	dt, w := newDownTrack(t, rt, sfu.LayerMid)
	dtClosed := make(chan struct{})
	dt.OnClose(func() { close(dtClosed) })
	rtClosed := make(chan struct{})
	rt.OnClose(func() { close(rtClosed) })
	stop := runGenerator(t, video, 5*time.Millisecond, 10, 300)
	require.Eventually(t, func() bool { return w.count() > 10 }, waitFor, 5*time.Millisecond)

	stop()
	video.close()
	for _, ch := range []chan struct{}{dtClosed, rtClosed} {
		select {
		case <-ch:
		case <-time.After(waitFor):
			t.Fatal("track end did not propagate")
		}
	}
	require.ErrorIs(t, rt.Err(), ErrTrackEnded)
	require.Zero(t, a.Stats().Peers[0].Served)

	_, err := peer.Subscribe(t.Context(), "TR_video", "")
	require.ErrorIs(t, err, ErrTrackNotFound, "the track is gone")
	_, err = peer.Subscribe(t.Context(), "TR_unknown", "")
	require.ErrorIs(t, err, ErrTrackNotFound)
}

// TestRelayRedial kills the link under a subscription: B re-dials and
// restores it, and media flows to the same sink again.
func TestRelayRedial(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	s := newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rt.AddSink(s))
	runGenerator(t, video, 5*time.Millisecond, 10, 300)
	require.Eventually(t, func() bool { return s.count(sfu.LayerLow) > 10 }, waitFor, 5*time.Millisecond)

	// A drops the link, as if it restarted its relay.
	aPeer, ok := a.Peer("node-b")
	require.True(t, ok)
	aPeer.mu.Lock()
	l := aPeer.link
	aPeer.mu.Unlock()
	require.NotNil(t, l)
	l.close(codeNormal, "test kill", errors.New("test kill"))
	<-l.ended

	before := s.count(sfu.LayerLow)
	require.Eventually(t, func() bool { return s.count(sfu.LayerLow) > before+20 }, waitFor, 5*time.Millisecond)
	st := peer.Stats()
	require.True(t, st.Connected)
	require.GreaterOrEqual(t, st.Links, uint64(2))
	require.GreaterOrEqual(t, st.Redials, uint64(1))
	require.Equal(t, 1, st.Subscriptions)
	require.Equal(t, 1, a.Stats().Peers[0].Served)
	select {
	case <-rt.Done():
		t.Fatal("the remote track must survive the re-dial")
	default:
	}
}

// TestRelayIdleLinkCloses checks that a link without subscriptions or data
// closes after the idle timeout, and that the peer re-dials on next use.
func TestRelayIdleLinkCloses(t *testing.T) {
	t.Parallel()
	idle := func(c *Config) { c.IdleTimeout = 200 * time.Millisecond }
	audio := newTestSource("TR_audio", webrtc.RTPCodecTypeAudio, sfu.LayerBit(sfu.LayerLow))
	a := newEndpoint(t, "node-a", newTrackMap(audio), idle)
	b := newEndpoint(t, "node-b", nil, idle)
	peer := dial(t, b, a)
	require.True(t, peer.Stats().Connected)
	require.Eventually(t, func() bool { return !peer.Stats().Connected }, waitFor, 10*time.Millisecond)

	rt := subscribe(t, peer, "TR_audio")
	s := newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rt.AddSink(s))
	runGenerator(t, audio, 10*time.Millisecond, 1, 60)
	require.Eventually(t, func() bool { return s.count(sfu.LayerLow) > 5 }, waitFor, 5*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	require.True(t, peer.Stats().Connected, "a link carrying a subscription is not idle")
	require.Equal(t, uint64(2), peer.Stats().Links)
}

// TestRelaySimultaneousDial has two nodes dial each other at once and
// subscribe to each other's tracks: they settle on one link, the one dialed
// by the smaller node id, and the other idles out.
func TestRelaySimultaneousDial(t *testing.T) {
	t.Parallel()
	idle := func(c *Config) { c.IdleTimeout = 300 * time.Millisecond }
	srcA := newTestSource("TR_a", webrtc.RTPCodecTypeAudio, sfu.LayerBit(sfu.LayerLow))
	srcB := newTestSource("TR_b", webrtc.RTPCodecTypeAudio, sfu.LayerBit(sfu.LayerLow))
	a := newEndpoint(t, "node-a", newTrackMap(srcA), idle)
	b := newEndpoint(t, "node-b", newTrackMap(srcB), idle)
	var toB, toA *Peer
	done := make(chan struct{})
	go func() {
		defer close(done)
		toB = dial(t, a, b)
	}()
	toA = dial(t, b, a)
	<-done

	rtB := subscribe(t, toB, "TR_b")
	rtA := subscribe(t, toA, "TR_a")
	sinkA, sinkB := newRecvSink(sfu.LayerBit(sfu.LayerLow)), newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rtA.AddSink(sinkA))
	require.NoError(t, rtB.AddSink(sinkB))
	runGenerator(t, srcA, 10*time.Millisecond, 1, 60)
	runGenerator(t, srcB, 10*time.Millisecond, 1, 60)

	links := func(p *Peer) (int, *link) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.links), p.link
	}
	require.Eventually(t, func() bool {
		na, la := links(toB)
		nb, lb := links(toA)
		return na == 1 && nb == 1 && la != nil && la.dialed && lb != nil && !lb.dialed
	}, waitFor, 10*time.Millisecond)
	before := [2]int{sinkA.count(sfu.LayerLow), sinkB.count(sfu.LayerLow)}
	require.Eventually(t, func() bool {
		return sinkA.count(sfu.LayerLow) > before[0]+10 && sinkB.count(sfu.LayerLow) > before[1]+10
	}, waitFor, 10*time.Millisecond)
}

// blockingTracks is a LocalTracks whose lookups wait for release.
type blockingTracks struct {
	*trackMap
	release chan struct{}
}

func (b *blockingTracks) LookupTrack(ctx context.Context, sid, publisher string) (sfu.TrackSource, bool) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, false
	}
	return b.trackMap.LookupTrack(ctx, sid, publisher)
}

// TestRelaySubscribeAbandoned checks that a subscription whose caller gave
// up before the origin answered goes away on both nodes, and that a track
// handed out without sinks closes after the unsubscribe delay.
func TestRelaySubscribeAbandoned(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	tracks := &blockingTracks{trackMap: newTrackMap(video), release: make(chan struct{})}
	a := newEndpoint(t, "node-a", tracks)
	b := newEndpoint(t, "node-b", nil, func(c *Config) { c.UnsubscribeDelay = 100 * time.Millisecond })
	peer := dial(t, b, a)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := peer.Subscribe(ctx, "TR_video", "")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	close(tracks.release)
	require.Eventually(t, func() bool {
		return peer.Stats().Subscriptions == 0 && a.Stats().Peers[0].Served == 0 && video.sinks.Len() == 0
	}, waitFor, 5*time.Millisecond)

	rt := subscribe(t, peer, "TR_video")
	select {
	case <-rt.Done():
		t.Fatal("closed before the unsubscribe delay")
	case <-time.After(50 * time.Millisecond):
	}
	select {
	case <-rt.Done():
	case <-time.After(waitFor):
		t.Fatal("a track without sinks must close")
	}
	require.ErrorIs(t, rt.Err(), ErrClosed)
	require.Eventually(t, func() bool { return a.Stats().Peers[0].Served == 0 }, waitFor, 5*time.Millisecond)
}
