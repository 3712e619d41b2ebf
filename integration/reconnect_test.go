package integration

import (
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
)

// TestReconnectResume: A's signal WebSocket drops while A publishes to B. The SDK resumes
// (reconnect=1 with its participant sid, ICE restart); the node must let it: A keeps its
// participant sid and track sids without re-publishing, B never sees A leave, and B's media
// keeps flowing on the same subscriptions.
func TestReconnectResume(t *testing.T) {
	n := startNode(t)
	const room = "reconnect"
	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")

	mic := publishMic(t, a)
	cam := publishCamera(t, a)
	audio := b.subscribed(t, mic.pub.SID())
	video := b.subscribed(t, cam.pub.SID())
	waitPackets(t, video, 30, "video at bob before the drop")

	sidBefore := a.room.LocalParticipant.SID()
	tracksBefore := localTrackSIDs(a)
	remoteBefore := b.remote(t, "alice").SID()
	require.Equal(t, sidBefore, remoteBefore)

	// Drop A's signal connection (the SDK closes its WebSocket and starts resuming).
	a.room.Simulate(lksdk.SimulateSignalReconnect)
	waitFor(t, func() bool { return a.ev.get(&a.ev.reconnected) >= 1 }, func() string {
		return sprintf("alice did not reconnect (reconnecting=%d, state=%s)",
			a.ev.get(&a.ev.reconnecting), a.room.ConnectionState())
	})
	require.Equal(t, lksdk.ConnectionStateConnected, a.room.ConnectionState())

	// A resumed instead of rejoining: a full rejoin would have unpublished and re-published
	// its tracks under new sids and dropped its remote participants.
	require.Empty(t, a.ev.list(&a.ev.localUnpublished), "alice's tracks were unpublished: not a resume")
	require.Equal(t, sidBefore, a.room.LocalParticipant.SID(), "alice's participant sid changed")
	require.Equal(t, tracksBefore, localTrackSIDs(a), "alice's track sids changed")
	require.Empty(t, a.ev.list(&a.ev.disconnected), "alice lost her remote participants")
	require.Zero(t, a.ev.get(&a.ev.selfDisconnected), "alice's SDK gave up and disconnected")

	// B's media keeps flowing on the same subscriptions, and B never saw A leave.
	for _, r := range []*trackRecorder{audio, video} {
		waitPackets(t, r, r.count()+60, "media at bob after alice resumed")
	}
	require.Same(t, audio, b.ev.recorder(mic.pub.SID()), "bob re-subscribed alice's microphone")
	require.Same(t, video, b.ev.recorder(cam.pub.SID()), "bob re-subscribed alice's camera")
	require.Empty(t, b.ev.list(&b.ev.disconnected), "bob saw alice leave")
	require.Equal(t, remoteBefore, b.remote(t, "alice").SID(), "bob sees a new sid for alice")
	// (No sequence continuity check here: packets A sent while its ICE restarted may really be
	// lost before they reach the node.)
	require.NoError(t, video.err(), "video payload at bob")

	// A's signal connection is really back: a signal round trip (metadata update) works.
	a.room.LocalParticipant.SetMetadata("after-resume")
	rp := b.remote(t, "alice")
	waitFor(t, func() bool { return rp.Metadata() == "after-resume" },
		func() string { return sprintf("bob sees metadata %q after alice resumed", rp.Metadata()) })
}

// localTrackSIDs lists the sids of c's own publications, by name.
func localTrackSIDs(c *client) map[string]string {
	out := map[string]string{}
	for _, p := range c.room.LocalParticipant.TrackPublications() {
		out[p.Name()] = p.SID()
	}
	return out
}
