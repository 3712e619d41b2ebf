package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
	"github.com/twitchtv/twirp"
)

// TestMeshRoomService (issue 3): RoomService on any edge answers for the whole mesh. alice
// (publishing a microphone) and bob are on edge 0, carol on edge 1, nobody on edge 2. Edges 1
// and 2 list the room with all three participants and return alice with her track;
// MutePublishedTrack and RemoveParticipant sent to another edge than the participant's are
// carried out by edge 0, and every client sees the effect.
func TestMeshRoomService(t *testing.T) {
	nodes := startMesh(t, meshEdges)
	const room = "mesh-service"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := joinRoom(t, nodes[0], room, "alice")
	bob := joinRoom(t, nodes[0], room, "bob")
	carol := joinRoom(t, nodes[1], room, "carol")
	mic := publishMic(t, alice)
	for _, c := range []*client{alice, bob} {
		c.remote(t, "carol")
	}
	carol.subscribed(t, mic.pub.SID())

	services := make([]*lksdk.RoomServiceClient, len(nodes))
	for i, n := range nodes {
		services[i] = lksdk.NewRoomServiceClient(n.HTTPURL(), devKey, devSecret)
	}
	everyone := []string{"alice", "bob", "carol"}

	for i, rs := range services {
		t.Run(sprintf("list on edge %d", i), func(t *testing.T) {
			var last string
			waitFor(t, func() bool {
				res, err := rs.ListRooms(ctx, &livekit.ListRoomsRequest{})
				if err != nil {
					last = err.Error()
					return false
				}
				last = sprintf("%v", res.Rooms)
				return len(res.Rooms) == 1 && res.Rooms[0].Name == room && res.Rooms[0].NumParticipants == 3
			}, func() string { return sprintf("ListRooms on edge %d: %s", i, last) })

			waitFor(t, func() bool {
				res, err := rs.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
				if err != nil {
					last = err.Error()
					return false
				}
				var ids []string
				for _, p := range res.Participants {
					ids = append(ids, p.Identity)
				}
				slices.Sort(ids)
				last = sprintf("%v", ids)
				return slices.Equal(ids, everyone)
			}, func() string { return sprintf("ListParticipants on edge %d lists %s, want %v", i, last, everyone) })

			p, err := rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "alice"})
			require.NoError(t, err, "GetParticipant alice on edge %d", i)
			require.Equal(t, "alice", p.Identity)
			require.Len(t, p.Tracks, 1)
			require.Equal(t, mic.pub.SID(), p.Tracks[0].Sid)

			_, err = rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "nobody"})
			requireTwirpCode(t, err, twirp.NotFound)
		})
	}

	t.Run("mute through edge 2", func(t *testing.T) {
		_, err := services[2].MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: "alice",
			TrackSid: mic.pub.SID(), Muted: true})
		require.NoError(t, err)
		waitFor(t, func() bool { return mic.pub.IsMuted() }, func() string { return "alice was not told she is muted" })
		rp := carol.remote(t, "alice")
		waitFor(t, func() bool {
			pub := rp.GetTrackPublication(livekit.TrackSource_MICROPHONE)
			return pub != nil && pub.IsMuted()
		}, func() string { return "carol on edge 1 never saw the mute" })
	})

	t.Run("remove through edge 1", func(t *testing.T) {
		_, err := services[1].RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "bob"})
		require.NoError(t, err)
		waitFor(t, func() bool { return bob.ev.get(&bob.ev.selfDisconnected) > 0 },
			func() string { return "bob (edge 0) was not disconnected" })
		require.Equal(t, livekit.DisconnectReason_PARTICIPANT_REMOVED, bob.room.DisconnectReason())
		for _, c := range []*client{alice, carol} {
			waitFor(t, func() bool { return c.ev.has(&c.ev.disconnected, "bob") },
				func() string { return sprintf("%s did not see bob go", c.identity) })
		}
		for i, rs := range services {
			waitFor(t, func() bool {
				_, err := rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "bob"})
				return err != nil
			}, func() string { return sprintf("edge %d still returns bob", i) })
			_, err := rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "bob"})
			requireTwirpCode(t, err, twirp.NotFound)
		}
	})
}
