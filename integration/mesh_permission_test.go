package integration

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// permissionQuiet is how long a subscriber that may not have a track is watched for RTP of it
// after a permitted subscriber on the same edge receives it.
const permissionQuiet = 2 * time.Second

// TestMeshSubscriptionPermission: a publisher's subscription permission holds on every edge.
// alice publishes on edge A and lets only bob subscribe; bob (edge B) receives her microphone,
// carol (edge B, like bob) and dave (edge A, like alice) do not. Opened to everyone, carol and
// dave receive it; narrowed to dave alone, bob's and carol's subscriptions end.
func TestMeshSubscriptionPermission(t *testing.T) {
	nodes := startMesh(t, 2)
	const room = "perm"
	alice := joinRoom(t, nodes[0], room, "alice")
	dave := joinRoom(t, nodes[0], room, "dave")
	bob := joinRoom(t, nodes[1], room, "bob")
	carol := joinRoom(t, nodes[1], room, "carol")
	for _, c := range []*client{bob, carol} {
		c.remote(t, "alice")
	}
	lp := alice.room.LocalParticipant
	only := func(identity string) *livekit.SubscriptionPermission {
		return &livekit.SubscriptionPermission{TrackPermissions: []*livekit.TrackPermission{
			{ParticipantIdentity: identity, AllTracks: true}}}
	}
	lp.SetSubscriptionPermission(only("bob"))
	// The permission reaches edge B with alice's directory entry, which every later change of
	// alice carries too: once bob sees metadata alice set afterwards, edge B has it.
	lp.SetMetadata("permission-set")
	waitFor(t, func() bool { return bob.remote(t, "alice").Metadata() == "permission-set" },
		func() string { return "bob never saw alice's metadata set after her permission" })
	mic := publishMic(t, alice)
	sid := mic.pub.SID()

	audio := bob.subscribed(t, sid)
	waitPackets(t, audio, 50, "bob (allowed, edge B) receives alice's microphone")
	time.Sleep(permissionQuiet)
	for _, c := range []*client{carol, dave} {
		got := int64(0)
		if r := c.ev.recorder(sid); r != nil {
			got = r.count()
		}
		require.Zero(t, got, "%s may not subscribe to alice's microphone but received packets", c.identity)
	}

	lp.SetSubscriptionPermission(&livekit.SubscriptionPermission{AllParticipants: true})
	for _, c := range []*client{carol, dave} {
		waitPackets(t, c.subscribed(t, sid), 50, c.identity+" receives alice's microphone once everyone may")
	}

	lp.SetSubscriptionPermission(only("dave"))
	for _, c := range []*client{bob, carol} {
		r := c.ev.recorder(sid)
		select {
		case <-r.done:
		case <-time.After(waitTimeout):
			t.Fatalf("%s's subscription to alice's microphone did not end when alice allowed only dave (%d packets)",
				c.identity, r.count())
		}
	}
	before := dave.ev.recorder(sid).count()
	waitPackets(t, dave.ev.recorder(sid), before+50, "dave (still allowed) keeps receiving")
}
