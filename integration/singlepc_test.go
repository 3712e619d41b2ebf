package integration

import (
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// joinSinglePC joins through the v1 ("single peer connection") path: /rtc/v1 with the join
// request in the URL, one peer connection both ways.
func joinSinglePC(t *testing.T, n *node.Node, room, identity string) *client {
	t.Helper()
	tok := mintToken(t, tokenSpec{identity: identity, grant: fullGrant(room)})
	ev := newEvents()
	r, err := lksdk.ConnectToRoomWithToken(n.URL(), tok, ev.callbacks(),
		lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(sdkLogger()),
		lksdk.WithConnectTimeout(10*time.Second),
		lksdk.WithSinglePeerConnection(),
	)
	require.NoError(t, err, "single-PC join %s", identity)
	c := &client{identity: identity, room: r, ev: ev}
	t.Cleanup(func() { c.leave(t) })
	return c
}

// TestSinglePeerConnection: v1 clients publish and subscribe on one peer connection, and mix
// with v0 clients in the same room: media and data flow every way.
func TestSinglePeerConnection(t *testing.T) {
	n := startNode(t)
	const room = "single"
	a := joinSinglePC(t, n, room, "alice") // v1
	b := joinSinglePC(t, n, room, "bob")   // v1
	c := joinRoom(t, n, room, "carol")     // v0

	camA := publishCamera(t, a)
	micA := publishMic(t, a)
	for _, x := range []*client{b, c} {
		waitPackets(t, x.subscribed(t, camA.pub.SID()), 30, x.identity+" receives alice's camera")
		waitPackets(t, x.subscribed(t, micA.pub.SID()), 30, x.identity+" receives alice's microphone")
	}

	// A v0 publisher reaches v1 subscribers too, on the already-connected single PC (the server
	// asks the client to renegotiate).
	micC := publishMic(t, c)
	for _, x := range []*client{a, b} {
		waitPackets(t, x.subscribed(t, micC.pub.SID()), 30, x.identity+" receives carol's microphone")
	}

	require.NoError(t, a.room.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("v1-data")),
		lksdk.WithDataPublishReliable(true)))
	for _, x := range []*client{b, c} {
		waitFor(t, func() bool { return len(x.ev.dataWith("v1-data")) > 0 },
			func() string { return x.identity + " did not get alice's data" })
	}
	require.NoError(t, c.room.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("v0-data")),
		lksdk.WithDataPublishReliable(true)))
	waitFor(t, func() bool { return len(a.ev.dataWith("v0-data")) > 0 },
		func() string { return "alice (v1) did not get carol's data" })
}
