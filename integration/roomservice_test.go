package integration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
	"github.com/twitchtv/twirp"
)

// TestRoomService drives the node's RoomService with the SDK's Twirp client (protobuf) and a
// plain JSON request, and checks each call's effect on connected SDK participants.
func TestRoomService(t *testing.T) {
	n := startNode(t)
	rs := lksdk.NewRoomServiceClient(n.HTTPURL(), devKey, devSecret)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const room = "service"

	created, err := rs.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room, EmptyTimeout: 60, Metadata: "m0"})
	require.NoError(t, err)
	require.Equal(t, room, created.Name)
	require.NotEmpty(t, created.Sid)

	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")
	mic := publishMic(t, a)
	b.subscribed(t, mic.pub.SID())

	t.Run("list", func(t *testing.T) {
		rooms, err := rs.ListRooms(ctx, &livekit.ListRoomsRequest{})
		require.NoError(t, err)
		require.Len(t, rooms.Rooms, 1)
		require.Equal(t, uint32(2), rooms.Rooms[0].NumParticipants)
		require.Equal(t, "m0", rooms.Rooms[0].Metadata)

		parts, err := rs.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
		require.NoError(t, err)
		require.Len(t, parts.Participants, 2)

		p, err := rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "alice"})
		require.NoError(t, err)
		require.Len(t, p.Tracks, 1)
		require.Equal(t, mic.pub.SID(), p.Tracks[0].Sid)

		_, err = rs.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "nobody"})
		requireTwirpCode(t, err, twirp.NotFound)
	})

	t.Run("update participant", func(t *testing.T) {
		_, err := rs.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: "alice",
			Metadata: "from-service", Attributes: map[string]string{"k": "v"}})
		require.NoError(t, err)
		rp := b.remote(t, "alice")
		waitFor(t, func() bool { return rp.Metadata() == "from-service" && rp.Attributes()["k"] == "v" },
			func() string { return sprintf("bob sees metadata %q attributes %v", rp.Metadata(), rp.Attributes()) })
		waitFor(t, func() bool { return a.room.LocalParticipant.Metadata() == "from-service" },
			func() string { return "alice was not told her own new metadata" })
	})

	t.Run("mute track", func(t *testing.T) {
		_, err := rs.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: "alice",
			TrackSid: mic.pub.SID(), Muted: true})
		require.NoError(t, err)
		rp := b.remote(t, "alice")
		waitFor(t, func() bool { return rp.GetTrackPublication(mic.pub.Source()).IsMuted() },
			func() string { return "bob never saw the server-side mute" })
		waitFor(t, func() bool { return mic.pub.IsMuted() }, func() string { return "alice was not told she is muted" })
	})

	t.Run("send data", func(t *testing.T) {
		_, err := rs.SendData(ctx, &livekit.SendDataRequest{Room: room, Data: []byte("to-bob"),
			Kind: livekit.DataPacket_RELIABLE, DestinationIdentities: []string{"bob"}})
		require.NoError(t, err)
		waitFor(t, func() bool { return len(b.ev.dataWith("to-bob")) > 0 }, func() string { return "bob got no server data" })
		never(t, func() bool { return len(a.ev.dataWith("to-bob")) > 0 }, "alice got data addressed to bob")
	})

	t.Run("room metadata", func(t *testing.T) {
		_, err := rs.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: room, Metadata: "m1"})
		require.NoError(t, err)
		waitFor(t, func() bool { return b.room.Metadata() == "m1" }, func() string { return "bob sees old room metadata" })
	})

	t.Run("json", func(t *testing.T) {
		tok := adminToken(t, room)
		req, err := http.NewRequest(http.MethodPost, n.HTTPURL()+"/twirp/livekit.RoomService/ListParticipants",
			strings.NewReader(`{"room":"`+room+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		require.Contains(t, string(body), `"identity":"alice"`)
	})

	t.Run("grants", func(t *testing.T) {
		// A join-only token may not administer the room.
		weak := mintToken(t, tokenSpec{identity: "x", grant: &auth.VideoGrant{RoomJoin: true, Room: room}})
		req, err := http.NewRequest(http.MethodPost, n.HTTPURL()+"/twirp/livekit.RoomService/ListRooms", strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+weak)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusForbidden, res.StatusCode)

		bad := lksdk.NewRoomServiceClient(n.HTTPURL(), devKey, "wrong-secret")
		_, err = bad.ListRooms(ctx, &livekit.ListRoomsRequest{})
		requireTwirpCode(t, err, twirp.Unauthenticated)
	})

	t.Run("remove participant", func(t *testing.T) {
		_, err := rs.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "bob"})
		require.NoError(t, err)
		waitFor(t, func() bool { return b.ev.get(&b.ev.selfDisconnected) > 0 }, func() string { return "bob was not disconnected" })
		require.Equal(t, livekit.DisconnectReason_PARTICIPANT_REMOVED, b.room.DisconnectReason())
		waitFor(t, func() bool { return a.ev.has(&a.ev.disconnected, "bob") }, func() string { return "alice did not see bob go" })
	})

	t.Run("delete room", func(t *testing.T) {
		_, err := rs.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room})
		require.NoError(t, err)
		waitFor(t, func() bool { return a.ev.get(&a.ev.selfDisconnected) > 0 }, func() string { return "alice was not disconnected" })
		require.Equal(t, livekit.DisconnectReason_ROOM_DELETED, a.room.DisconnectReason())
		rooms, err := rs.ListRooms(ctx, &livekit.ListRoomsRequest{})
		require.NoError(t, err)
		require.Empty(t, rooms.Rooms)
	})
}

func adminToken(t *testing.T, room string) string {
	t.Helper()
	return mintToken(t, tokenSpec{identity: "admin", grant: &auth.VideoGrant{RoomAdmin: true, RoomList: true, RoomCreate: true, Room: room}})
}

func requireTwirpCode(t *testing.T, err error, code twirp.ErrorCode) {
	t.Helper()
	require.Error(t, err)
	var terr twirp.Error
	require.True(t, errors.As(err, &terr), "not a twirp error: %v", err)
	require.Equal(t, code, terr.Code(), terr.Msg())
}
