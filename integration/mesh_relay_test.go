package integration

import (
	"fmt"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
	"github.com/edgemesh/edge/relay"
)

const (
	// oneCopyWindow is how long each relay byte count of the one-copy test runs.
	oneCopyWindow = 5 * time.Second
	// oneCopySubscribers is how many subscribers the second window has on the far edge.
	oneCopySubscribers = 10
	// oneCopyBound is the acceptance bound on the ratio of the two windows' byte rates.
	oneCopyBound = 1.05
	// oneCopyFloor is the lowest plausible ratio: far fewer bytes with ten subscribers would
	// mean the stream stalled, not that it was shared.
	oneCopyFloor = 0.9
	// unsubscribeBound is the acceptance bound on closing the relay subscription after the
	// last subscriber on an edge left.
	unsubscribeBound = 2 * time.Second
)

// TestMeshRelayMediaAndData (issue 4): alice publishes an Opus microphone and a 3-layer VP8
// simulcast camera on edge A; bob on edge B joined before the publish, carol on edge C joins
// after it. Both receive both tracks through the relay, with intact payloads and a continuous
// stream on the default (high) layer; reliable and lossy data from alice reach both exactly
// once, and data from bob comes back to alice.
func TestMeshRelayMediaAndData(t *testing.T) {
	nodes := startMesh(t, meshEdges)
	const room = "relay"
	alice := joinRoom(t, nodes[0], room, "alice")
	bob := joinRoom(t, nodes[1], room, "bob")
	bob.remote(t, "alice")
	mic := publishMic(t, alice)
	cam := publishCamera(t, alice)
	carol := joinRoom(t, nodes[2], room, "carol")

	for _, c := range []*client{bob, carol} {
		audio := c.subscribed(t, mic.pub.SID())
		video := c.subscribed(t, cam.pub.SID())
		waitPackets(t, audio, 100, c.identity+" receives alice's microphone across edges")
		waitFor(t, func() bool { return video.settledOn(2, steadyFrames) }, func() string {
			return sprintf("%s never settled on alice's high layer across edges (at layer %d)", c.identity, video.lastLayer())
		})
		require.NoError(t, audio.err(), "%s: audio payload", c.identity)
		require.NoError(t, video.err(), "%s: video payload", c.identity)
		checkContinuity(t, audio.snapshot())
		checkContinuity(t, video.snapshot())
		checkKeyframeSwitches(t, video.snapshot())
		alice.remote(t, c.identity)
		c.remote(t, "alice")
	}

	lp := alice.room.LocalParticipant
	require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte("relay-reliable")),
		lksdk.WithDataPublishReliable(true), lksdk.WithDataPublishTopic("news")))
	require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte("relay-lossy")),
		lksdk.WithDataPublishReliable(false), lksdk.WithDataPublishTopic("telemetry")))
	for _, c := range []*client{bob, carol} {
		for _, want := range []receivedData{
			{from: "alice", topic: "news", payload: "relay-reliable"},
			{from: "alice", topic: "telemetry", payload: "relay-lossy"},
		} {
			waitFor(t, func() bool { return len(c.ev.dataWith(want.payload)) > 0 }, func() string {
				return sprintf("%s (another edge) never got %q", c.identity, want.payload)
			})
			got := c.ev.dataWith(want.payload)
			require.Len(t, got, 1, "%s got %q more than once", c.identity, want.payload)
			require.Equal(t, want, got[0], "%s", c.identity)
		}
	}
	require.NoError(t, bob.room.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("from-bob")),
		lksdk.WithDataPublishReliable(true)))
	waitFor(t, func() bool { return len(alice.ev.dataWith("from-bob")) == 1 },
		func() string { return "alice never got bob's data from edge B" })

	for _, peer := range nodes[1:] {
		st := relayPeer(nodes[0], peer)
		require.Positive(t, st.Sent.Audio, "A sent no audio to %s", peer.ID())
		require.Positive(t, st.Sent.Video[2], "A sent no high layer to %s", peer.ID())
		require.Positive(t, st.Sent.Data, "A sent no data to %s", peer.ID())
		require.Equal(t, 2, st.Served, "tracks A serves %s", peer.ID())
	}
}

// relayWindow measures what from sends to to over d: the traffic and the exact time elapsed.
func relayWindow(from, to *node.Node, d time.Duration) (relay.Traffic, time.Duration) {
	before, start := relayPeer(from, to).Sent, time.Now()
	timer := time.NewTimer(d)
	<-timer.C
	after, end := relayPeer(from, to).Sent, time.Now()
	return trafficDelta(before, after), end.Sub(start)
}

// linkHealth renders the counters of a relay peer that tell whether its links struggled.
func linkHealth(st relay.PeerStats) string {
	return sprintf("links=%d redials=%d queueDrops=%d lost=%d nacksSent=%d nacksReceived=%d retransmits=%d oversize=%d rtt=%s",
		st.Links, st.Redials, st.QueueDrops, st.LostPackets, st.NACKsSent, st.NACKsReceived, st.Retransmits,
		st.Oversize, st.RTT.Round(time.Microsecond))
}

// rate is bytes per second.
func rate(bytes uint64, d time.Duration) float64 { return float64(bytes) / d.Seconds() }

// TestMeshRelayOneCopy (issue 4): one copy per node. alice publishes microphone and camera on
// A; the bytes A relays to B per second are measured with one subscriber on B and again with
// ten (all settled on the high layer): the second rate is at most 1.05 × the first, while B
// sends its subscribers about ten times as much.
func TestMeshRelayOneCopy(t *testing.T) {
	nodes := startMesh(t, 2)
	a, b := nodes[0], nodes[1]
	const room = "one-copy"
	alice := joinRoom(t, a, room, "alice")
	mic := publishMic(t, alice)
	cam := publishCamera(t, alice)

	var subs []*client
	settle := func(c *client) {
		t.Helper()
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 50, c.identity+" receives the microphone")
		video := c.subscribed(t, cam.pub.SID())
		waitFor(t, func() bool { return video.settledOn(2, steadyFrames) }, func() string {
			return sprintf("%s never settled on the high layer (at layer %d)", c.identity, video.lastLayer())
		})
	}
	subs = append(subs, joinRoom(t, b, room, "sub-00"))
	settle(subs[0])

	one, oneDur := relayWindow(a, b, oneCopyWindow)
	for i := 1; i < oneCopySubscribers; i++ {
		subs = append(subs, joinRoom(t, b, room, fmt.Sprintf("sub-%02d", i)))
	}
	for _, c := range subs[1:] {
		settle(c)
	}
	// Let the keyframes the new subscribers asked for pass before measuring.
	relayWindow(a, b, time.Second)
	outBefore := b.Counters().BytesOut.Load()
	ten, tenDur := relayWindow(a, b, oneCopyWindow)
	fanout := b.Counters().BytesOut.Load() - outBefore

	r1, r10 := rate(one.Total(), oneDur), rate(ten.Total(), tenDur)
	t.Logf("relay counters: A→B %s; B←A %s", linkHealth(relayPeer(a, b)), linkHealth(relayPeer(b, a)))
	t.Logf("A→B relay: 1 subscriber %.0f B/s %+v; %d subscribers %.0f B/s %+v; ratio %.3f (bound %.2f)",
		r1, one, oneCopySubscribers, r10, ten, r10/r1, oneCopyBound)
	t.Logf("B → its %d subscribers: %.0f B/s (%.1f × the relayed rate)", oneCopySubscribers,
		rate(fanout, tenDur), rate(fanout, tenDur)/r10)
	require.Positive(t, r1, "nothing relayed with one subscriber")
	require.LessOrEqual(t, r10/r1, oneCopyBound, "A→B bytes with %d subscribers vs 1", oneCopySubscribers)
	require.GreaterOrEqual(t, r10/r1, oneCopyFloor, "A→B stream stalled with %d subscribers", oneCopySubscribers)
	require.Greater(t, rate(fanout, tenDur), 5*r10, "B does not fan the single copy out to its subscribers")
	st := relayPeer(b, a)
	require.Equal(t, 2, st.Subscriptions, "relay subscriptions B holds on A (one per track)")
}

// TestMeshRelayUnsubscribe (issue 4): two subscribers on B receive alice's tracks from A; when
// the first leaves the relay subscriptions stay, when the last leaves they are closed on both
// ends within 2 s (measured) and A stops sending; a new subscriber opens them again.
func TestMeshRelayUnsubscribe(t *testing.T) {
	nodes := startMesh(t, 2)
	a, b := nodes[0], nodes[1]
	const room = "unsubscribe"
	alice := joinRoom(t, a, room, "alice")
	mic := publishMic(t, alice)
	cam := publishCamera(t, alice)
	s1 := joinRoom(t, b, room, "s1")
	s2 := joinRoom(t, b, room, "s2")
	for _, c := range []*client{s1, s2} {
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 20, c.identity+" receives the microphone")
		waitPackets(t, c.subscribed(t, cam.pub.SID()), 20, c.identity+" receives the camera")
	}
	subscriptions := func() (int, int) { return relayPeer(b, a).Subscriptions, relayPeer(a, b).Served }
	waitFor(t, func() bool { s, v := subscriptions(); return s == 2 && v == 2 }, func() string {
		s, v := subscriptions()
		return sprintf("B holds %d relay subscriptions, A serves %d; want 2 and 2", s, v)
	})

	s1.leave(t)
	never(t, func() bool { s, _ := subscriptions(); return s < 2 },
		"a relay subscription closed while s2 still receives the tracks")

	left := time.Now()
	s2.leave(t)
	at, ok := pollUntil(waitTimeout, func() bool { s, v := subscriptions(); return s == 0 && v == 0 })
	s, v := subscriptions()
	require.True(t, ok, "relay subscriptions still open %s after the last subscriber left: B %d, A %d",
		waitTimeout, s, v)
	t.Logf("relay subscriptions closed on both edges %s after the last subscriber on B left (bound %s)",
		at.Sub(left).Round(time.Millisecond), unsubscribeBound)
	require.LessOrEqual(t, at.Sub(left), unsubscribeBound)
	idle, _ := relayWindow(a, b, time.Second)
	require.Zero(t, idle.Audio+idle.Video[0]+idle.Video[1]+idle.Video[2], "A still relays media to B: %+v", idle)

	s3 := joinRoom(t, b, room, "s3")
	waitPackets(t, s3.subscribed(t, mic.pub.SID()), 20, "s3 receives the microphone after the resubscribe")
	waitPackets(t, s3.subscribed(t, cam.pub.SID()), 20, "s3 receives the camera after the resubscribe")
}
