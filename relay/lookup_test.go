package relay

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

// slowTracks is a LocalTracks whose lookup of one track (slow) waits for
// release; it records the publisher hint of every lookup.
type slowTracks struct {
	*trackMap
	slow    string
	release chan struct{}

	mu    sync.Mutex
	hints map[string]string
}

func (s *slowTracks) LookupTrack(ctx context.Context, sid, publisher string) (sfu.TrackSource, bool) {
	s.mu.Lock()
	s.hints[sid] = publisher
	s.mu.Unlock()
	if sid == s.slow {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, false
		}
	}
	return s.trackMap.LookupTrack(ctx, sid, publisher)
}

func (s *slowTracks) hint(sid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hints[sid]
	return h, ok
}

// TestRelaySlowLookup: a track whose lookup takes long (a hub pulling it from elsewhere) holds
// up neither the link's control stream nor other subscriptions, and is served once it is
// found. The subscriber's publisher hint reaches the lookup.
func TestRelaySlowLookup(t *testing.T) {
	t.Parallel()
	relayed := newTestSource("TR_relayed", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	local := newTestSource("TR_local", webrtc.RTPCodecTypeAudio, sfu.LayerBit(sfu.LayerLow))
	tracks := &slowTracks{trackMap: newTrackMap(relayed, local), slow: "TR_relayed",
		release: make(chan struct{}), hints: map[string]string{}}
	a := newEndpoint(t, "node-a", tracks)
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)

	type result struct {
		rt  *RemoteTrack
		err error
	}
	slow := make(chan result, 1)
	go func() {
		rt, err := peer.Subscribe(t.Context(), "TR_relayed", "node-z")
		slow <- result{rt, err}
	}()
	require.Eventually(t, func() bool { _, ok := tracks.hint("TR_relayed"); return ok },
		waitFor, 5*time.Millisecond)

	start := time.Now()
	subscribe(t, peer, "TR_local")
	require.Less(t, time.Since(start), 2*time.Second, "a pending lookup held up another subscription")
	require.Eventually(t, func() bool { return local.sinks.Len() == 1 }, waitFor, 5*time.Millisecond)
	select {
	case r := <-slow:
		t.Fatalf("answered before the lookup ended: %v", r.err)
	case <-time.After(50 * time.Millisecond):
	}

	close(tracks.release)
	select {
	case r := <-slow:
		require.NoError(t, r.err)
		require.Equal(t, webrtc.RTPCodecTypeVideo, r.rt.Kind())
	case <-time.After(waitFor):
		t.Fatal("the slow track was never served")
	}
	h, _ := tracks.hint("TR_relayed")
	require.Equal(t, "node-z", h, "publisher hint")
	h, _ = tracks.hint("TR_local")
	require.Equal(t, "", h)
	require.Eventually(t, func() bool { return relayed.sinks.Len() == 1 }, waitFor, 5*time.Millisecond)
}

// TestRelayLookupAbandonedOnClose: a lookup under way when the link closes ends with it (its
// context is cancelled) and leaves no feed behind.
func TestRelayLookupAbandonedOnClose(t *testing.T) {
	t.Parallel()
	relayed := newTestSource("TR_relayed", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	tracks := &slowTracks{trackMap: newTrackMap(relayed), slow: "TR_relayed",
		release: make(chan struct{}), hints: map[string]string{}}
	a := newEndpoint(t, "node-a", tracks)
	b := newEndpoint(t, "node-b", nil)
	peer := dial(t, b, a)
	go func() { _, _ = peer.Subscribe(t.Context(), "TR_relayed", "") }()
	require.Eventually(t, func() bool { _, ok := tracks.hint("TR_relayed"); return ok },
		waitFor, 5*time.Millisecond)
	require.NoError(t, b.Close()) // the lookup never returns on its own: only its ctx ends it
	// The link is down only once its goroutines, the lookup's among them, have ended.
	require.Eventually(t, func() bool {
		st := a.Stats()
		return len(st.Peers) == 1 && !st.Peers[0].Connected && st.Peers[0].Served == 0
	}, waitFor, 5*time.Millisecond)
	require.Zero(t, relayed.sinks.Len())
}
